/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing the command line of agent-runtime into a RuntimeConfig: one option
 * table, one setter per option, every value checked with the same rules the
 * schema applies (src/basic/parse-value.h, agent-limits.h). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "parse-value.h"
#include "image-programs.h"
#include "runtime-config.h"
#include "runtime.h"

void runtime_config_done(RuntimeConfig *c) {
        if (!c)
                return;
        free(c->name);
        free(c->image);
        strv_free(c->syscalls);
        for (size_t i = 0; i < c->n_secrets; i++) {
                free(c->secrets[i].name);
                free(c->secrets[i].source);
        }
        free(c->secrets);
        free(c->shared_state);
        strv_free(c->health_check);
        strv_free(c->environment);
        free(c->working_directory);
        strv_free(c->exec);
        strv_free(c->image_allow);
        *c = (RuntimeConfig) {};
}

static int set_string(char **field, const char *v) {
        char *s = strdup(v);
        if (!s)
                return log_oom();
        free(*field);
        *field = s;
        return 0;
}

/* Appends a copy of V to the NULL-terminated vector *V_, at most MAX words. */
static int strv_push(char ***v_, size_t max, const char *v) {
        size_t n = strv_length(*v_);
        char **nv;

        if (n >= max)
                return -E2BIG;
        nv = realloc(*v_, sizeof(char *) * (n + 2));
        if (!nv)
                return log_oom();
        *v_ = nv;
        nv[n] = strdup(v);
        nv[n + 1] = NULL;
        return nv[n] ? 0 : log_oom();
}

static int set_name(RuntimeConfig *c, const char *v) {
        if (!agent_name_is_valid(v))
                return log_error_errno(-EINVAL, "--name=%s: expected [a-z0-9] then up to 62 of [a-z0-9-], not ending in '-'.", v);
        return set_string(&c->name, v);
}

static int set_image(RuntimeConfig *c, const char *v) {
        if (!*v || !string_is_printable_utf8(v, false))
                return log_error_errno(-EINVAL, "--image= must be a non-empty printable string.");
        return set_string(&c->image, v);
}

static int set_image_digest(RuntimeConfig *c, const char *v) {
        if (image_digest_parse(v, c->image_digest) < 0)
                return log_error_errno(-EINVAL, "--image-digest=%s: expected sha256: and 64 hex digits.", v);
        return 0;
}

static int set_uid(RuntimeConfig *c, const char *v) {
        uint64_t u;

        /* 0 would make the agent root of its namespace (owner of the whole
         * range); 65535 is the 16-bit "no uid". */
        if (parse_uint64_range(v, 1, 65534, &u) < 0)
                return log_error_errno(-EINVAL, "--uid=%s: expected a uid from 1 to 65534.", v);
        c->uid = (uid_t) u;
        return 0;
}

static int set_size(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t u;

        if (parse_uint64_range(v, min, max, &u) < 0 || u % WORKSPACE_SECTOR_SIZE != 0)
                return log_error_errno(-EINVAL, "--%s=%s: expected a multiple of %u bytes from %llu to %llu.", opt, v,
                                       WORKSPACE_SECTOR_SIZE, (unsigned long long) min, (unsigned long long) max);
        *ret = u;
        return 0;
}

static int set_workspace_size(RuntimeConfig *c, const char *v) {
        return set_size("workspace-size", v, WORKSPACE_SIZE_MIN, WORKSPACE_SIZE_MAX, &c->workspace_size);
}

static int set_tmp_size(RuntimeConfig *c, const char *v) {
        return set_size("tmp-size", v, TMP_SIZE_MIN, TMP_SIZE_MAX, &c->tmp_size);
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

static int set_syscalls(RuntimeConfig *c, const char *v) {
        _cleanup_free_ char *copy = strdup(v);
        char *state = NULL;
        int r;

        if (!copy)
                return log_oom();
        if (!*v || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
                return log_error_errno(-EINVAL, "--syscalls=%s: empty system call name.", v);
        for (char *tok = strtok_r(copy, ",", &state); tok; tok = strtok_r(NULL, ",", &state)) {
                if (!syscall_name_is_plain(tok))
                        return log_error_errno(-EINVAL, "--syscalls=: '%s' is not a system call name.", tok);
                for (size_t i = 0; i < c->n_syscalls; i++)
                        if (streq(c->syscalls[i], tok))
                                return log_error_errno(-EINVAL, "--syscalls=: '%s' listed twice.", tok);
                r = strv_push(&c->syscalls, EXTRA_SYSCALLS_MAX, tok);
                if (r == -E2BIG)
                        return log_error_errno(r, "--syscalls=: more than %d names.", EXTRA_SYSCALLS_MAX);
                if (r < 0)
                        return r;
                c->n_syscalls++;
        }
        return 0;
}

static int set_secret(RuntimeConfig *c, const char *v) {
        const char *eq = strchr(v, '=');
        _cleanup_free_ char *name = NULL, *source = NULL;
        SecretSpec *n;

        if (!eq)
                return log_error_errno(-EINVAL, "--secret=%s: expected SECRET=SOURCE.", v);
        name = strndup(v, (size_t) (eq - v));
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
        } else if (!path_is_normalized_absolute(source))
                return log_error_errno(-EINVAL, "--secret=%s: source '%s' is neither a normalised absolute path nor cred:ID.",
                                       name, source);
        for (size_t i = 0; i < c->n_secrets; i++)
                if (streq(c->secrets[i].name, name))
                        return log_error_errno(-EINVAL, "--secret=: secret '%s' given twice.", name);
        if (c->n_secrets >= SECRETS_MAX)
                return log_error_errno(-E2BIG, "--secret=: more than %d secrets.", SECRETS_MAX);
        n = realloc(c->secrets, sizeof(SecretSpec) * (c->n_secrets + 1));
        if (!n)
                return log_oom();
        c->secrets = n;
        c->secrets[c->n_secrets++] = (SecretSpec) { TAKE_PTR(name), TAKE_PTR(source) };
        return 0;
}

static int set_shared_state(RuntimeConfig *c, const char *v) {
        const char *why = NULL;

        if (shared_state_path_check(v, &why) < 0)
                return log_error_errno(-EINVAL, "--shared-state=%s: %s.", v, why);
        return set_string(&c->shared_state, v);
}

static int set_network(RuntimeConfig *c, const char *v) {
        if (streq(v, "none"))
                c->network = RUNTIME_NETWORK_NONE;
        else if (streq(v, "private"))
                c->network = RUNTIME_NETWORK_PRIVATE;
        else if (streq(v, "egress"))
                c->network = RUNTIME_NETWORK_EGRESS;
        else
                return log_error_errno(-EINVAL, "--network=%s: expected none, private or egress.", v);
        return 0;
}

static int set_keep_caps(RuntimeConfig *c, const char *v) {
        if (!streq(v, "CAP_NET_BIND_SERVICE"))
                return log_error_errno(-EINVAL, "--keep-caps=%s: only CAP_NET_BIND_SERVICE can be kept.", v);
        c->keep_net_bind_service = true;
        return 0;
}

static int set_image_allow(RuntimeConfig *c, const char *v) {
        char **n;

        /* The same rule the generator applied: only an interpreter's exact
         * path (src/basic/image-programs.c); the scan checks the file. */
        if (image_allow_check(v, NULL) != IMAGE_ALLOW_OK)
                return log_error_errno(-EPERM, "--image-allow=%s: not a path the approved-image policy may except.", v);
        if (c->n_image_allow >= IMAGE_ALLOW_MAX)
                return log_error_errno(-E2BIG, "--image-allow=: more than %d paths.", IMAGE_ALLOW_MAX);
        n = reallocarray(c->image_allow, c->n_image_allow + 2, sizeof(char *));
        if (!n)
                return log_oom();
        c->image_allow = n;
        n[c->n_image_allow] = strdup(v);
        if (!n[c->n_image_allow])
                return log_oom();
        n[++c->n_image_allow] = NULL;
        return 0;
}

static int set_mdwe(RuntimeConfig *c, const char *v) {
        bool b;

        if (parse_boolean(v, &b) < 0)
                return log_error_errno(-EINVAL, "--memory-deny-write-execute=%s: expected yes or no.", v);
        c->allow_write_execute = !b;
        return 0;
}

static int set_notify(RuntimeConfig *c, const char *v) {
        c->notify = true;
        return 0;
}

static int set_u64(const char *opt, const char *v, uint64_t min, uint64_t *ret) {
        if (parse_uint64_range(v, min, UINT64_MAX / 2, ret) < 0)
                return log_error_errno(-EINVAL, "--%s=%s: expected a decimal number of at least %llu.", opt, v,
                                       (unsigned long long) min);
        return 0;
}

static int set_watchdog(RuntimeConfig *c, const char *v) {
        return set_u64("watchdog-usec", v, 1, &c->watchdog_usec);
}

static int set_health_interval(RuntimeConfig *c, const char *v) {
        return set_u64("health-interval-usec", v, 1, &c->health_interval_usec);
}

static int set_health_retries(RuntimeConfig *c, const char *v) {
        return set_u64("health-retries", v, 1, &c->health_retries);
}

static int set_orphan_timeout(RuntimeConfig *c, const char *v) {
        return set_u64("orphan-timeout-usec", v, 0, &c->orphan_timeout_usec);
}

static int set_health_check(RuntimeConfig *c, const char *v) {
        int r;

        if (!string_is_printable_utf8(v, false))
                return log_error_errno(-EINVAL, "--health-check=: a word contains control characters.");
        r = strv_push(&c->health_check, HEALTH_CHECK_ARGS_MAX, v);
        if (r == -E2BIG)
                return log_error_errno(r, "--health-check=: more than %d words.", HEALTH_CHECK_ARGS_MAX);
        return r;
}

static int set_setenv(RuntimeConfig *c, const char *v) {
        const char *eq = strchr(v, '=');
        _cleanup_free_ char *key = eq ? strndup(v, (size_t) (eq - v)) : NULL;
        int r;

        if (!eq || !key || !env_name_is_valid(key) || !string_is_printable_utf8(eq + 1, false))
                return log_error_errno(-EINVAL, "--setenv=%s: expected NAME=VALUE, printable, without newlines.", v);
        r = strv_push(&c->environment, ENVIRONMENT_MAX, v);
        if (r == -E2BIG)
                return log_error_errno(r, "--setenv=: more than %d variables.", ENVIRONMENT_MAX);
        return r;
}

static int set_working_directory(RuntimeConfig *c, const char *v) {
        if (!path_is_normalized_absolute(v) || strpbrk(v, ":"))
                return log_error_errno(-EINVAL, "--working-directory=%s: expected a normalised absolute path.", v);
        return set_string(&c->working_directory, v);
}

static int set_apparmor(RuntimeConfig *c, const char *v) {
        if (apparmor_mode_from_string(v, &c->apparmor) < 0)
                return log_error_errno(-EINVAL, "--apparmor=%s: expected required or optional.", v);
        return 0;
}

/* The one option table. "repeat" options may be given more than once. */
static const struct {
        const char *name;
        bool has_arg, repeat;
        int (*set)(RuntimeConfig *c, const char *v);
} option_table[] = {
        { "name",                 true,  false, set_name              },
        { "image",                true,  false, set_image             },
        { "image-digest",         true,  false, set_image_digest      },
        { "image-allow",          true,  true,  set_image_allow       },
        { "memory-deny-write-execute", true, false, set_mdwe          },
        { "uid",                  true,  false, set_uid               },
        { "workspace-size",       true,  false, set_workspace_size    },
        { "tmp-size",             true,  false, set_tmp_size          },
        { "syscalls",             true,  false, set_syscalls          },
        { "secret",               true,  true,  set_secret            },
        { "shared-state",         true,  false, set_shared_state      },
        { "network",              true,  false, set_network           },
        { "keep-caps",            true,  false, set_keep_caps         },
        { "notify",               false, false, set_notify            },
        { "watchdog-usec",        true,  false, set_watchdog          },
        { "health-check",         true,  true,  set_health_check      },
        { "health-interval-usec", true,  false, set_health_interval   },
        { "health-retries",       true,  false, set_health_retries    },
        { "setenv",               true,  true,  set_setenv            },
        { "working-directory",    true,  false, set_working_directory },
        { "orphan-timeout-usec",  true,  false, set_orphan_timeout    },
        { "apparmor",             true,  false, set_apparmor          },
};
#define OPT_BASE 0x100
#define OPT_BIT(name) (UINT64_C(1) << option_index(name))

static int option_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                if (streq(option_table[i].name, name))
                        return (int) i;
        return -1;
}

static void help(void) {
        printf("agent-runtime start|provision|configure --name=NAME [OPTIONS…] [-- EXEC ARGS…]\n\n"
               "Options (docs/DESIGN.md, \"The runtime contract\"):\n");
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                printf("  --%s%s%s\n", option_table[i].name, option_table[i].has_arg ? "=VALUE" : "",
                       option_table[i].repeat ? " (repeatable)" : "");
}

static int check_required(RuntimeVerb verb, uint64_t seen, const RuntimeConfig *c) {
        static const char *const need_start[] = { "name", "image", "uid", "workspace-size", NULL };
        static const char *const need_provision[] = { "name", "image", NULL };
        static const char *const need_configure[] = { "name", "uid", "workspace-size", NULL };
        static const char *const need_recycle[] = { "name", NULL };
        const char *const *need = verb == RUNTIME_VERB_START ? need_start :
                                  verb == RUNTIME_VERB_PROVISION ? need_provision :
                                  verb == RUNTIME_VERB_CONFIGURE ? need_configure : need_recycle;

        for (; *need; need++)
                if (!(seen & OPT_BIT(*need)))
                        return log_error_errno(-EINVAL, "--%s= is required.", *need);
        if (c->health_check && (!c->health_interval_usec || !c->health_retries))
                return log_error_errno(-EINVAL, "--health-check= needs --health-interval-usec= and --health-retries=.");
        return 0;
}

static int parse_exec(int argc, char *argv[], int first, RuntimeConfig *c) {
        if (first >= argc || !path_is_normalized_absolute(argv[first]))
                return log_error_errno(-EINVAL, "start: expected -- and the agent's command line, starting with an absolute path.");
        for (int i = first; i < argc; i++) {
                int r;
                if (!string_is_printable_utf8(argv[i], true))
                        return log_error_errno(-EINVAL, "start: a word of the agent's command line contains control characters.");
                r = strv_push(&c->exec, EXEC_ARGS_MAX, argv[i]);
                if (r == -E2BIG)
                        return log_error_errno(r, "start: more than %d words in the agent's command line.", EXEC_ARGS_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool option_seen(uint64_t seen, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                if (streq(option_table[i].name, name))
                        return seen & (UINT64_C(1) << i);
        return false;
}

int runtime_config_parse_argv(RuntimeVerb verb, int argc, char *argv[], RuntimeConfig *ret) {
        _cleanup_(runtime_config_done) RuntimeConfig c = { .apparmor = APPARMOR_REQUIRED };
        struct option options[ELEMENTSOF(option_table) + 2] = {};
        uint64_t seen = 0;
        int opt, r;

        for (size_t i = 0; i < ELEMENTSOF(option_table); i++)
                options[i] = (struct option) { option_table[i].name,
                                               option_table[i].has_arg ? required_argument : no_argument,
                                               NULL, OPT_BASE + (int) i };
        options[ELEMENTSOF(option_table)] = (struct option) { "help", no_argument, NULL, 'h' };

        optind = 0; /* a full reset: tests parse many times in one process */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
                size_t i = (size_t) (opt - OPT_BASE);

                if (opt == 'h') {
                        help();
                        return 0;
                }
                if (opt < OPT_BASE || i >= ELEMENTSOF(option_table))
                        return log_error_errno(-EINVAL, "%s: unknown option or missing value in '%s'.", argv[0],
                                               argv[optind - 1]);
                if (!option_table[i].repeat && (seen & (UINT64_C(1) << i)))
                        return log_error_errno(-EINVAL, "--%s= given twice.", option_table[i].name);
                seen |= UINT64_C(1) << i;
                r = option_table[i].set(&c, optarg);
                if (r < 0)
                        return r;
        }
        /* The site's explicit choice to run agents without AppArmor where the
         * kernel has none: a drop-in for agent@.service with
         * Environment=AGENTCAGE_APPARMOR=optional (agentcage.agent(5)). */
        if (!option_seen(seen, "apparmor") && getenv("AGENTCAGE_APPARMOR")) {
                r = set_apparmor(&c, getenv("AGENTCAGE_APPARMOR"));
                if (r < 0)
                        return r;
        }
        if (verb == RUNTIME_VERB_START) {
                if (optind >= argc || !streq(argv[optind - 1], "--"))
                        return log_error_errno(-EINVAL, "start: expected -- and the agent's command line.");
                r = parse_exec(argc, argv, optind, &c);
                if (r < 0)
                        return r;
        } else if (optind < argc)
                return log_error_errno(-EINVAL, "%s: unexpected argument '%s'.", argv[0], argv[optind]);
        r = check_required(verb, seen, &c);
        if (r < 0)
                return r;
        if (!c.working_directory && set_string(&c.working_directory, "/workspace") < 0)
                return -ENOMEM;
        *ret = c;
        c = (RuntimeConfig) {};
        return 1;
}
