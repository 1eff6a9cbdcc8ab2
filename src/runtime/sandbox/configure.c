/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-runtime configure: the second ExecStartPre= of agent@NAME.service.
 * Allocates the agent's user-namespace range, compiles its seccomp filter,
 * stages its secrets and sets up its encrypted volatile workspace, all under
 * $RUNTIME/NAME/ (docs/DESIGN.md, "The runtime contract").
 *
 * The options come from a unit file, which the generator wrote from a
 * validated definition; they are validated again here because an admin can
 * edit or override the unit, and this program runs as root outside any
 * sandbox. Every start provisions afresh: leftovers of a previous run are
 * torn down first, and a failure undoes everything this run made. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "fs-util.h"
#include "log.h"
#include "policy.h"
#include "runtime.h"

#define SHARED_STATE_PREFIX "/var/lib/agents/"

void configure_args_done(ConfigureArgs *a) {
        if (!a)
                return;
        free(a->name);
        for (size_t i = 0; i < a->n_syscalls; i++)
                free(a->syscalls[i]);
        free(a->syscalls);
        for (size_t i = 0; i < a->n_secrets; i++) {
                free(a->secrets[i].name);
                free(a->secrets[i].source);
        }
        free(a->secrets);
        free(a->shared_state);
        *a = (ConfigureArgs) {};
}

/* Decimal digits only: no sign, no blanks, no "0x", no leading zeros (a unit
 * file says what it means, and "010" may be meant as octal). */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s || strlen(s) > 20)
                return -EINVAL;
        if (s[0] == '0' && s[1] != 0)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static bool syscall_name_is_plain(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

static int parse_syscalls(const char *value, ConfigureArgs *a) {
        _cleanup_free_ char *copy = strdup(value);
        char *state = NULL, *tok;

        if (!copy)
                return log_oom();
        if (!*value || value[0] == ',' || value[strlen(value) - 1] == ',' || strstr(value, ",,"))
                return log_error_errno(-EINVAL, "--syscalls=%s: empty system call name.", value);

        for (tok = strtok_r(copy, ",", &state); tok; tok = strtok_r(NULL, ",", &state)) {
                char **n;

                if (!syscall_name_is_plain(tok))
                        return log_error_errno(-EINVAL, "--syscalls=: '%s' is not a system call name.", tok);
                for (size_t i = 0; i < a->n_syscalls; i++)
                        if (streq(a->syscalls[i], tok))
                                return log_error_errno(-EINVAL, "--syscalls=: '%s' listed twice.", tok);
                if (a->n_syscalls >= EXTRA_SYSCALLS_MAX)
                        return log_error_errno(-E2BIG, "--syscalls=: more than %d names.", EXTRA_SYSCALLS_MAX);
                n = realloc(a->syscalls, sizeof(char *) * (a->n_syscalls + 1));
                if (!n)
                        return log_oom();
                a->syscalls = n;
                a->syscalls[a->n_syscalls] = strdup(tok);
                if (!a->syscalls[a->n_syscalls])
                        return log_oom();
                a->n_syscalls++;
        }
        return 0;
}

static int parse_secret(const char *value, ConfigureArgs *a) {
        const char *eq = strchr(value, '=');
        _cleanup_free_ char *name = NULL, *source = NULL;
        SecretSpec *n;

        if (!eq)
                return log_error_errno(-EINVAL, "--secret=%s: expected SECRET=SOURCE.", value);
        name = strndup(value, (size_t) (eq - value));
        source = strdup(eq + 1);
        if (!name || !source)
                return log_oom();
        if (!secret_name_is_valid(name))
                return log_error_errno(-EINVAL, "--secret=: invalid secret name '%s' "
                                       "(letters, digits, '_', '-', '.', at most %d, not starting with '.' or '-').",
                                       name, SECRET_NAME_MAX);
        if (strncmp(source, "cred:", 5) == 0) {
                if (!credential_id_is_valid(source + 5))
                        return log_error_errno(-EINVAL, "--secret=%s: invalid credential name '%s'.", name, source + 5);
        } else if (source[0] != '/' || strlen(source) > 4095)
                return log_error_errno(-EINVAL, "--secret=%s: source '%s' is neither an absolute path nor cred:ID.",
                                       name, source);
        for (size_t i = 0; i < a->n_secrets; i++)
                if (streq(a->secrets[i].name, name))
                        return log_error_errno(-EINVAL, "--secret=: secret '%s' given twice.", name);
        if (a->n_secrets >= SECRETS_MAX)
                return log_error_errno(-E2BIG, "--secret=: more than %d secrets.", SECRETS_MAX);

        n = realloc(a->secrets, sizeof(SecretSpec) * (a->n_secrets + 1));
        if (!n)
                return log_oom();
        a->secrets = n;
        a->secrets[a->n_secrets++] = (SecretSpec) { TAKE_PTR(name), TAKE_PTR(source) };
        return 0;
}

/* A normalised absolute path (the definition rule) strictly below
 * /var/lib/agents/. */
static bool shared_state_path_is_valid(const char *p) {
        return path_is_normalized_absolute(p) && strncmp(p, SHARED_STATE_PREFIX, strlen(SHARED_STATE_PREFIX)) == 0 &&
               strlen(p) > strlen(SHARED_STATE_PREFIX);
}

int configure_parse_argv(int argc, char *argv[], ConfigureArgs *a) {
        enum { ARG_NAME = 0x100, ARG_UID, ARG_WORKSPACE_SIZE, ARG_TMP_SIZE, ARG_SYSCALLS, ARG_SECRET, ARG_SHARED_STATE,
               ARG_MDWE };
        static const struct option options[] = {
                { "help",           no_argument,       NULL, 'h'                },
                { "name",           required_argument, NULL, ARG_NAME           },
                { "uid",            required_argument, NULL, ARG_UID            },
                { "workspace-size", required_argument, NULL, ARG_WORKSPACE_SIZE },
                { "tmp-size",       required_argument, NULL, ARG_TMP_SIZE       },
                { "syscalls",       required_argument, NULL, ARG_SYSCALLS       },
                { "secret",         required_argument, NULL, ARG_SECRET         },
                { "shared-state",   required_argument, NULL, ARG_SHARED_STATE   },
                { "memory-deny-write-execute", required_argument, NULL, ARG_MDWE },
                {}
        };
        bool have_uid = false, have_size = false, have_tmp = false, have_syscalls = false, have_mdwe = false;
        uint64_t v;
        int c, r;

        *a = (ConfigureArgs) {};
        optind = 0; /* full reset of getopt, the tests parse many times */
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("agent-runtime configure --name=NAME --uid=UID --workspace-size=BYTES\n"
                               "        [--tmp-size=BYTES] [--syscalls=NAME,…] [--secret=SECRET=SOURCE]… [--shared-state=DIR]\n"
                               "        [--memory-deny-write-execute=yes|no]\n\n"
                               "Set up the user namespace range, seccomp filter, secrets and encrypted\n"
                               "workspace of agent NAME under $AGENTCAGE_RUNTIME_DIR (default /run/agents).\n");
                        return 0;
                case ARG_NAME:
                        if (a->name)
                                return log_error_errno(-EINVAL, "--name= given twice.");
                        if (!agent_name_is_valid(optarg))
                                return log_error_errno(-EINVAL, "Invalid agent name '%s'.", optarg);
                        a->name = strdup(optarg);
                        if (!a->name)
                                return log_oom();
                        break;
                case ARG_UID:
                        if (have_uid)
                                return log_error_errno(-EINVAL, "--uid= given twice.");
                        /* 0 would make the agent root of its namespace (owner of
                         * the whole range); 65535 is the 16-bit "no uid". */
                        r = parse_decimal(optarg, 65534, &v);
                        if (r < 0 || v == 0)
                                return log_error_errno(-EINVAL, "--uid=%s: expected a uid from 1 to 65534.", optarg);
                        a->uid = (uid_t) v;
                        have_uid = true;
                        break;
                case ARG_WORKSPACE_SIZE:
                        if (have_size)
                                return log_error_errno(-EINVAL, "--workspace-size= given twice.");
                        r = parse_decimal(optarg, UINT64_MAX, &v);
                        if (r < 0 || v < WORKSPACE_SIZE_MIN || v > WORKSPACE_SIZE_MAX)
                                return log_error_errno(-EINVAL, "--workspace-size=%s: expected a number of bytes from %llu to %llu.",
                                                       optarg, (unsigned long long) WORKSPACE_SIZE_MIN,
                                                       (unsigned long long) WORKSPACE_SIZE_MAX);
                        if (v % WORKSPACE_SECTOR_SIZE != 0)
                                return log_error_errno(-EINVAL, "--workspace-size=%s: not a multiple of %u bytes.",
                                                       optarg, WORKSPACE_SECTOR_SIZE);
                        a->workspace_size = v;
                        have_size = true;
                        break;
                case ARG_TMP_SIZE:
                        if (have_tmp)
                                return log_error_errno(-EINVAL, "--tmp-size= given twice.");
                        r = parse_decimal(optarg, UINT64_MAX, &v);
                        if (r < 0 || v < TMP_SIZE_MIN || v > TMP_SIZE_MAX || v % 4096 != 0)
                                return log_error_errno(-EINVAL, "--tmp-size=%s: expected a multiple of 4096 bytes from %llu to %llu.",
                                                       optarg, (unsigned long long) TMP_SIZE_MIN,
                                                       (unsigned long long) TMP_SIZE_MAX);
                        a->tmp_size = v;
                        have_tmp = true;
                        break;
                case ARG_SYSCALLS:
                        if (have_syscalls)
                                return log_error_errno(-EINVAL, "--syscalls= given twice.");
                        have_syscalls = true;
                        r = parse_syscalls(optarg, a);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SECRET:
                        r = parse_secret(optarg, a);
                        if (r < 0)
                                return r;
                        break;
                case ARG_SHARED_STATE:
                        if (a->shared_state)
                                return log_error_errno(-EINVAL, "--shared-state= given twice.");
                        if (!shared_state_path_is_valid(optarg))
                                return log_error_errno(-EINVAL, "--shared-state=%s: expected a normalised path below %s.",
                                                       optarg, SHARED_STATE_PREFIX);
                        a->shared_state = strdup(optarg);
                        if (!a->shared_state)
                                return log_oom();
                        break;
                case ARG_MDWE:
                        /* The definition's key, spelled the same; only the two
                         * canonical words, as the generator writes them. */
                        if (have_mdwe || (!streq(optarg, "yes") && !streq(optarg, "no")))
                                return log_error_errno(-EINVAL, "Invalid or repeated --memory-deny-write-execute=%s: expected yes or no.",
                                                       optarg);
                        a->allow_write_execute = streq(optarg, "no");
                        have_mdwe = true;
                        break;
                case '?':
                default:
                        return log_error_errno(-EINVAL, "configure: unknown option or missing value in '%s'.",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return log_error_errno(-EINVAL, "configure: unexpected argument '%s'.", argv[optind]);
        if (!a->name || !have_uid || !have_size)
                return log_error_errno(-EINVAL, "configure: --name=, --uid= and --workspace-size= are required.");
        return 1;
}

int shared_state_check(const char *dir) {
        _cleanup_free_ char *real = NULL;
        struct stat st;

        if (lstat(dir, &st) < 0)
                return log_error_errno(negative_errno(), "Shared state directory %s: %m", dir);
        if (S_ISLNK(st.st_mode))
                return log_error_errno(-ELOOP, "Shared state directory %s is a symlink, refusing.", dir);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "Shared state directory %s is not a directory, refusing.", dir);
        /* No symlink anywhere on the way either: the bind mount must land
         * where the admin meant, below /var/lib/agents/. */
        real = realpath(dir, NULL);
        if (!real)
                return log_error_errno(negative_errno(), "Failed to resolve shared state directory %s: %m", dir);
        if (!streq(real, dir))
                return log_error_errno(-ELOOP, "Shared state directory %s resolves to %s, refusing.", dir, real);
        return 0;
}

static int check_syscalls(const ConfigureArgs *a) {
        for (size_t i = 0; i < a->n_syscalls; i++) {
                const char *reason = NULL;
                int r = seccomp_policy_check_extra(a->syscalls[i], &reason);
                if (r == -EPERM)
                        return log_error_errno(r, "System call '%s' may not be allowed for agents: %s", a->syscalls[i],
                                               strempty(reason));
                if (r < 0)
                        return log_error_errno(r, "System call '%s' is not known on this architecture.", a->syscalls[i]);
        }
        return 0;
}

struct bpf_writer {
        char *const *extra;
        size_t n;
        SeccompPolicyFlags flags;
};

static int bpf_write(int fd, void *userdata) {
        struct bpf_writer *w = userdata;
        return seccomp_policy_write_bpf(w->extra, w->n, w->flags, fd);
}

static int configure(const ConfigureArgs *a) {
        _cleanup_free_ char *dir = NULL, *leases = NULL, *secrets = NULL, *ws = NULL, *tmp = NULL;
        char env[64];
        const char *root = runtime_root();
        uint32_t base;
        bool reused;
        uid_t owner;
        int r;

        r = check_syscalls(a);
        if (r < 0)
                return r;
        if (a->shared_state) {
                r = shared_state_check(a->shared_state);
                if (r < 0)
                        return r;
        }

        if (asprintf(&dir, "%s/%s", root, a->name) < 0 || asprintf(&leases, "%s/.userns", root) < 0 ||
            asprintf(&secrets, "%s/secrets", dir) < 0 || asprintf(&ws, "%s/workspace", dir) < 0 ||
            asprintf(&tmp, "%s/tmp", dir) < 0)
                return log_oom();

        r = mkdir_no_symlink(root, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", root);
        r = mkdir_no_symlink(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);

        /* A restart or a crash may have left a previous run's workspace and
         * secrets: never hand those to the new run. provision's root mount
         * and the user-namespace lease stay (the first belongs to this start,
         * the second is reused on purpose). */
        r = agent_teardown(root, a->name, false);
        if (r < 0)
                return log_error_errno(r, "Failed to clear the leftovers of a previous run of %s: %m", a->name);

        r = userns_lease_acquire(leases, a->name, USERNS_FIRST_BASE, USERNS_LAST_BASE, &base, &reused);
        if (r == -EBUSY)
                return log_error_errno(r, "No free user namespace range left for %s: every range from 0x%x to 0x%x is leased.",
                                       a->name, USERNS_FIRST_BASE, USERNS_LAST_BASE);
        if (r < 0)
                return log_error_errno(r, "Failed to lease a user namespace range for %s: %m", a->name);
        log_info("User namespace range %" PRIu32 ":%u for %s (%s).", base, USERNS_RANGE_SIZE, a->name,
                 reused ? "kept from the previous run" : "newly leased");
        owner = (uid_t) (base + a->uid);

        {
                struct bpf_writer w = { a->syscalls, a->n_syscalls,
                                        a->allow_write_execute ? SECCOMP_POLICY_ALLOW_WRITE_EXECUTE : 0 };

                if (a->allow_write_execute)
                        log_notice("Agent %s may map writable and executable memory (MemoryDenyWriteExecute=no).", a->name);
                r = write_file_atomic_with(dir, "seccomp.bpf", 0444, bpf_write, &w);
                if (r < 0) {
                        log_error_errno(r, "Failed to write the seccomp filter %s/seccomp.bpf: %m", dir);
                        goto fail;
                }
        }

        r = secrets_stage(secrets, a->secrets, a->n_secrets, owner);
        if (r < 0)
                goto fail;

        if (a->tmp_size > 0) {
                r = tmp_setup(tmp, a->tmp_size, (uid_t) base);
                if (r < 0)
                        goto fail;
        }

        r = workspace_setup(a->name, ws, a->workspace_size, owner);
        if (r < 0)
                goto fail;

        /* Last: runtime.env existing means the agent is fully configured. */
        (void) snprintf(env, sizeof env, "AGENTCAGE_USERNS=%" PRIu32 ":%u\n", base, USERNS_RANGE_SIZE);
        r = write_file_atomic(dir, "runtime.env", env, strlen(env), 0644);
        if (r < 0) {
                log_error_errno(r, "Failed to write %s/runtime.env: %m", dir);
                goto fail;
        }
        log_info("Configured agent %s.", a->name);
        return 0;

fail:
        log_notice("Undoing the configuration of %s.", a->name);
        (void) agent_teardown(root, a->name, false);
        if (userns_lease_release(leases, a->name) > 0)
                log_debug("Released the user namespace range of %s.", a->name);
        return r;
}

int verb_configure(int argc, char *argv[]) {
        _cleanup_(configure_args_done) ConfigureArgs a = {};
        int r;

        r = configure_parse_argv(argc, argv, &a);
        if (r <= 0)
                return r;
        /* Not the mount namespace: configure runs inside "agent-runtime
         * start", in the unit's own mount namespace, which is exactly where
         * systemd-nspawn is executed next; its mounts must stay there. But the
         * IPC namespace: with PrivateIPC= libdevmapper's udev cookies would
         * never be completed by udev and every dm-crypt step would hang. */
        r = join_host_namespaces(/* mount= */ false);
        if (r < 0)
                return r;
        r = configure(&a);
        if (r < 0)
                return log_error_errno(r, "Failed to configure agent %s: %m", a.name);
        return 0;
}
