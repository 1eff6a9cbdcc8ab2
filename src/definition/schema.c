/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent-limits.h"
#include "agent-state.h"
#include "capability-table.h"
#include "egress-policy.h"
#include "image-ref.h"
#include "image-programs.h"
#include "macro.h"
#include "parse-value.h"
#include "policy.h"
#include "schema.h"

#define FIELD(a, k, type) ((type *) ((char *) (a) + (k)->offset))

#define WHY(...) (void) snprintf(why, why_size, __VA_ARGS__)

static int replace_string(char **field, const char *value) {
        char *s = strdup(value);
        if (!s)
                return -ENOMEM;
        free(*field);
        *field = s;
        return 0;
}

static void replace_strv(char ***field, char **v) {
        strv_free(*field);
        *field = v;
}

static int parse_description(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        if (strlen(v) > k->max) {
                WHY("%zu bytes long; at most %ju are allowed", strlen(v), (uintmax_t) k->max);
                return -ERANGE;
        }
        if (!string_is_printable_utf8(v, false)) {
                WHY("contains control characters or invalid UTF-8");
                return -EINVAL;
        }
        /* A trailing backslash would continue the line in the unit file. */
        if (v[strlen(v) - 1] == '\\') {
                WHY("ends in a backslash");
                return -EINVAL;
        }
        return replace_string(FIELD(a, k, char *), v);
}

static int parse_image(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        if (image_ref_has_transport(v)) {
                _cleanup_(image_ref_done) ImageRef ref = {};
                const char *reason = NULL;
                int r = image_ref_parse(v, &ref, &reason);
                if (r == -EINVAL)
                        WHY("%s", reason);
                if (r < 0)
                        return r;
        } else if (v[0] == '/') {
                if (!path_is_normalized_absolute(v) || streq(v, "/")) {
                        WHY("not a normalised absolute path (no '.', '..', '//', trailing '/'; not '/')");
                        return -EINVAL;
                }
        } else if (!image_name_is_valid(v)) {
                WHY("neither an absolute path nor an image name of letters, digits, '.', '_', '-'");
                return -EINVAL;
        }
        return replace_string(FIELD(a, k, char *), v);
}

static int parse_digest(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        if (strncmp(v, "sha256:", 7) != 0 || strlen(v) != 7 + 64) {
                WHY("expected sha256: followed by 64 hex digits");
                return -EINVAL;
        }
        for (const char *p = v + 7; *p; p++)
                if (!isdigit((unsigned char) *p) && !(*p >= 'a' && *p <= 'f')) {
                        WHY("expected sha256: followed by 64 lowercase hex digits");
                        return -EINVAL;
                }
        return replace_string(FIELD(a, k, char *), v);
}

/* The word splitting of Exec=, Environment=, SystemCalls= and
 * HealthCheck=, at most k->max words of what ("words", "variables", …). */
static int split_value(const SchemaKey *k, const char *v, const char *what, char ***ret, size_t *ret_n,
                       char *why, size_t why_size) {
        int r = split_words(v, (size_t) k->max, ret, ret_n);

        if (r == -E2BIG)
                WHY("more than %ju %s", (uintmax_t) k->max, what);
        else if (r == -EINVAL)
                WHY("unbalanced quotes or an unknown backslash escape");
        return r;
}

/* Checks word i of a list value (the words before it are checked already). */
typedef int (*word_check_t)(char **words, size_t i, char *why, size_t why_size);

/* A list-valued key: split, check every word, store the list. */
static int parse_list(const SchemaKey *k, const char *v, Agent *a, const char *what, word_check_t check,
                      char *why, size_t why_size) {
        _cleanup_strv_free_ char **words = NULL;
        size_t n;
        int r = split_value(k, v, what, &words, &n, why, why_size);

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = check(words, i, why, why_size);
        if (r < 0)
                return r;
        replace_strv(FIELD(a, k, char **), TAKE_PTR(words));
        return 0;
}

static int check_exec_word(char **argv, size_t i, char *why, size_t why_size) {
        if (i == 0 && (!path_is_normalized_absolute(argv[0]) || streq(argv[0], "/"))) {
                WHY("the program must be an absolute, normalised path inside the image");
                return -EINVAL;
        }
        if (!string_is_printable_utf8(argv[i], false)) {
                WHY("word %zu contains control characters", i + 1);
                return -EINVAL;
        }
        return 0;
}

static int parse_exec(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        return parse_list(k, v, a, "words", check_exec_word, why, why_size);
}

static int check_environment_word(char **env, size_t i, char *why, size_t why_size) {
        char *eq = strchr(env[i], '=');
        size_t n;

        if (!eq) {
                WHY("'%.64s' is not KEY=VALUE", env[i]);
                return -EINVAL;
        }
        n = (size_t) (eq - env[i]);
        *eq = '\0';
        bool ok = env_name_is_valid(env[i]);
        *eq = '=';
        if (!ok) {
                WHY("'%.64s' is not a valid variable name (letters, digits, '_')", env[i]);
                return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
                if (strncmp(env[j], env[i], n + 1) == 0) {
                        WHY("variable %.*s is set twice", (int) n, env[i]);
                        return -EINVAL;
                }
        if (!string_is_printable_utf8(eq + 1, false)) {
                WHY("the value of %.*s contains control characters", (int) n, env[i]);
                return -EINVAL;
        }
        return 0;
}

static int parse_environment(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        return parse_list(k, v, a, "variables", check_environment_word, why, why_size);
}

static int parse_abs_path(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        if (!path_is_normalized_absolute(v)) {
                WHY("not a normalised absolute path");
                return -EINVAL;
        }
        return replace_string(FIELD(a, k, char *), v);
}

static int parse_shared_state(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        const char *reason = NULL;

        /* The same check the runtime applies (src/basic/agent-state.c). */
        if (shared_state_path_check(v, &reason) < 0) {
                WHY("%s", reason);
                return -EINVAL;
        }
        return replace_string(FIELD(a, k, char *), v);
}

static int parse_uint(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        uint64_t n;
        int r = parse_uint64_range(v, k->min, k->max, &n);
        if (r < 0)
                return r;
        *FIELD(a, k, uint64_t) = n;
        return 0;
}

static int parse_bool(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        return parse_boolean(v, FIELD(a, k, bool));
}

static int parse_span(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        uint64_t usec;
        int r = parse_timespan(v, &usec);
        if (r < 0)
                return r;
        if (usec % USEC_PER_SEC != 0) {
                WHY("sub-second precision is not supported");
                return -EINVAL;
        }
        /* A minimum of 0 means "0 is allowed and switches the feature off". */
        if (usec == 0 ? k->min > 0 : usec < MAX(k->min, USEC_PER_SEC) || usec > k->max)
                return -ERANGE;
        *FIELD(a, k, uint64_t) = usec;
        return 0;
}

static int parse_size_range(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        uint64_t n;
        int r = parse_size(v, &n);
        if (r < 0)
                return r;
        if (n < k->min || n > k->max)
                return -ERANGE;
        if (n % WORKSPACE_SECTOR_SIZE != 0) {
                WHY("must be a multiple of 4K");
                return -EINVAL;
        }
        *FIELD(a, k, uint64_t) = n;
        return 0;
}

unsigned schema_n_cpus(void) {
        static unsigned cached; /* sysconf() reads /sys every time */
        const char *e;
        uint64_t n;
        long c;

        if (cached > 0)
                return cached;
        e = getenv("AGENTCAGE_CPUS");
        if (e && parse_uint64_range(e, 1, 4096, &n) >= 0)
                return cached = (unsigned) n;
        c = sysconf(_SC_NPROCESSORS_ONLN);
        return cached = c > 0 ? (unsigned) c : 1;
}

static int parse_cpu_quota(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        uint64_t n, max = 100ULL * schema_n_cpus();
        int r = parse_percent(v, &n);
        if (r < 0)
                return r;
        if (n < 1 || n > max) {
                WHY("this host has %u CPUs, so at most %ju%%", schema_n_cpus(), (uintmax_t) max);
                return -ERANGE;
        }
        *FIELD(a, k, uint64_t) = n;
        return 0;
}

static int parse_restart(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        static const char *const names[] = {
                [RESTART_NO] = "no",
                [RESTART_ON_FAILURE] = "on-failure",
                [RESTART_ALWAYS] = "always",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(v, names[i])) {
                        *FIELD(a, k, RestartPolicy) = (RestartPolicy) i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_network(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        if (streq(v, "none"))
                *FIELD(a, k, NetworkMode) = NETWORK_NONE;
        else if (streq(v, "private"))
                *FIELD(a, k, NetworkMode) = NETWORK_PRIVATE;
        else
                return -EINVAL;
        return 0;
}

/* Every capability the kernel knows (src/basic/capability-table.h, the one
 * table), so that a typo is told apart from a capability that exists but is
 * not allowed. */

static int parse_capabilities(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        _cleanup_strv_free_ char **caps = NULL;
        size_t n;
        bool net_bind = false;
        int r;

        r = split_words(v, 64, &caps, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (capability_from_name(caps[i], true) < 0) {
                        WHY("unknown capability '%.64s'", caps[i]);
                        return -EINVAL;
                }
                if (strcasecmp(caps[i], "CAP_NET_BIND_SERVICE") != 0) {
                        WHY("%.64s may not be added", caps[i]);
                        return -EPERM;
                }
                if (net_bind) {
                        WHY("%.64s is listed twice", caps[i]);
                        return -EINVAL;
                }
                net_bind = true;
        }
        *FIELD(a, k, bool) = net_bind;
        return 0;
}

static int check_system_call(char **calls, size_t i, char *why, size_t why_size) {
        const char *reason = NULL;
        int r;

        for (size_t j = 0; j < i; j++)
                if (streq(calls[i], calls[j])) {
                        WHY("%.64s is listed twice", calls[i]);
                        return -EINVAL;
                }
        r = seccomp_policy_check_extra(calls[i], &reason);
        if (r == -EPERM) {
                WHY("%.64s is never allowed: %s", calls[i], reason ? reason : "dangerous");
                return r;
        }
        if (r < 0) {
                WHY("'%.64s' is not a system call known to libseccomp on this architecture", calls[i]);
                return -EINVAL;
        }
        return 0;
}

/* [Egress]: host patterns checked by the one validator of src/egress and
 * kept in canonical form. The table parses keys in its order: Network= is
 * final when Allow= is parsed, Allow= when Deny= is. */
static int parse_egress_hosts(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        _cleanup_strv_free_ char **words = NULL;
        size_t n;
        bool allow = streq(k->key, "Allow");
        int r;

        if (allow && a->network != NETWORK_NONE) {
                WHY("[Egress] needs [Security] Network=none (the agent reaches the proxy on its own loopback)");
                return -EINVAL;
        }
        if (!allow && !a->egress_allow) {
                WHY("Deny= without Allow= (an agent without Allow= has no egress at all)");
                return -EINVAL;
        }
        r = split_value(k, v, "patterns", &words, &n, why, why_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                EgressPattern p;
                char canonical[EGRESS_HOST_MAX + 16];

                r = egress_pattern_parse(words[i], &p, why, why_size);
                if (r < 0)
                        return r == -EADDRNOTAVAIL ? -EPERM : r;
                egress_pattern_format(&p, canonical, sizeof canonical);
                for (size_t j = 0; j < i; j++)
                        if (streq(words[j], canonical)) {
                                WHY("%s is listed twice", canonical);
                                return -EINVAL;
                        }
                r = replace_string(&words[i], canonical);
                if (r < 0)
                        return r;
        }
        replace_strv(FIELD(a, k, char **), TAKE_PTR(words));
        return 0;
}

static int parse_egress_methods(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        EgressMethods m;

        if (egress_methods_from_string(v, &m) < 0)
                return -EINVAL;
        *FIELD(a, k, bool) = m == EGRESS_METHODS_READ_ONLY;
        return 0;
}

static int parse_system_calls(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        return parse_list(k, v, a, "system calls", check_system_call, why, why_size);
}

static int check_image_allow(char **paths, size_t i, char *why, size_t why_size) {
        const ImageProgram *p = NULL;
        ImageAllowVerdict v = image_allow_check(paths[i], &p);

        for (size_t j = 0; j < i; j++)
                if (streq(paths[i], paths[j])) {
                        WHY("%.128s is listed twice", paths[i]);
                        return -EINVAL;
                }
        switch (v) {
        case IMAGE_ALLOW_OK:
                return 0;
        case IMAGE_ALLOW_NEVER:
                WHY("%.128s is %s: %s", paths[i], p->reason, image_allow_verdict_to_string(v));
                return -EPERM;
        default:
                WHY("%.128s is %s", paths[i], image_allow_verdict_to_string(v));
                return -EINVAL;
        }
}

static int parse_image_allow(const SchemaKey *k, const char *v, Agent *a, char *why, size_t why_size) {
        return parse_list(k, v, a, "paths", check_image_allow, why, why_size);
}

#define SEC(n) ((uint64_t) (n) * USEC_PER_SEC)




const SchemaKey schema_keys[] = {
        { "Agent", "Image", parse_image, offsetof(Agent, image), 0, 0, NULL, true,
          "an absolute path of a tree or image file, or an image name",
          "Image of the agent; a name is looked up in /var/lib/agents/images then /var/lib/machines at start." },
        { "Agent", "ImageDigest", parse_digest, offsetof(Agent, image_digest), 0, 0, NULL, false,
          "sha256: and 64 lowercase hex digits (see agent-runtime digest)",
          "The image must have this digest or the agent does not start." },
        { "Agent", "ImageAllow", parse_image_allow, offsetof(Agent, image_allow), 0, IMAGE_ALLOW_MAX, NULL, false,
          "absolute paths inside the image whose file name is an interpreter's (python3*, node, perl, ruby); "
          "never a shell, network tool, package manager or compiler; at most 8",
          "Interpreters the approved-image policy accepts in this image although it refuses their names; still "
          "refused if setuid, setgid, with capabilities, a device or not an ELF program. Every start logs the "
          "exceptions it used." },
        { "Agent", "Exec", parse_exec, offsetof(Agent, exec), 0, EXEC_ARGS_MAX, NULL, true,
          "an absolute path inside the image, then arguments; quotes group words; no shell",
          "Command line of the agent." },
        { "Agent", "Description", parse_description, offsetof(Agent, description), 0, DESCRIPTION_MAX, NULL, false,
          "printable text of at most 256 bytes",
          "Shown by systemctl and machinectl; defaults to \"Agent NAME\"." },
        { "Agent", "Environment", parse_environment, offsetof(Agent, environment), 0, ENVIRONMENT_MAX, NULL, false,
          "space-separated KEY=VALUE words (quotes allowed)",
          "Environment variables of the agent." },
        { "Agent", "WorkingDirectory", parse_abs_path, offsetof(Agent, working_directory), 0, 0, "/workspace", false,
          "an absolute, normalised path inside the agent",
          "Directory the agent starts in." },
        { "Agent", "User", parse_uint, offsetof(Agent, user), 1, 65534, "65534", false,
          "a numeric uid from 1 to 65534 (0 and names are refused)",
          "User id the agent runs as inside its user namespace." },
        { "Agent", "Autostart", parse_bool, offsetof(Agent, autostart), 0, 0, "no", false,
          "a boolean (yes/no)",
          "Start the agent at boot through agents.target." },

        { "Lifecycle", "RuntimeMaxSec", parse_span, offsetof(Agent, runtime_max_usec), SEC(1), 7 * USEC_PER_DAY, "1h", false,
          "a time span from 1s to 7d (0 and infinity are refused)",
          "Hard time to live; the agent is stopped and recycled when it ends." },
        { "Lifecycle", "Restart", parse_restart, offsetof(Agent, restart), 0, 0, "on-failure", false,
          "no, on-failure or always",
          "When systemd restarts the agent." },
        { "Lifecycle", "RestartSec", parse_span, offsetof(Agent, restart_usec), 0, USEC_PER_DAY, "5s", false,
          "a time span from 0 to 1d",
          "Pause before a restart." },
        { "Lifecycle", "MaxRestarts", parse_uint, offsetof(Agent, max_restarts), 0, 100, "5", false,
          "an integer from 0 to 100",
          "Restarts allowed within 10 minutes before the agent is left failed." },
        { "Lifecycle", "WatchdogSec", parse_span, offsetof(Agent, watchdog_usec), 0, USEC_PER_HOUR, "0", false,
          "0 (off) or a time span from 1s to 1h",
          "Heartbeat deadline." },

        { "Lifecycle", "Notify", parse_bool, offsetof(Agent, notify), 0, 0, "no", false,
          "a boolean (yes/no)",
          "The agent reports readiness (READY=1) and heartbeats (WATCHDOG=1) over $NOTIFY_SOCKET." },
        { "Lifecycle", "HealthCheck", parse_exec, offsetof(Agent, health_check), 0, HEALTH_CHECK_ARGS_MAX, NULL, false,
          "an absolute path inside the image, then arguments (no shell)",
          "Command run inside the agent's sandbox; exit status 0 means healthy." },
        { "Lifecycle", "HealthCheckIntervalSec", parse_span, offsetof(Agent, health_interval_usec), SEC(1), USEC_PER_HOUR, "30s", false,
          "a time span from 1s to 1h",
          "Time between health checks." },
        { "Lifecycle", "HealthCheckRetries", parse_uint, offsetof(Agent, health_retries), 1, 100, "3", false,
          "an integer from 1 to 100",
          "Failed health checks in a row before the agent is recycled." },
        { "Lifecycle", "OrphanTimeoutSec", parse_span, offsetof(Agent, orphan_timeout_usec), 0, 7 * USEC_PER_DAY, "5min", false,
          "0 (never reaped) or a time span from 1s to 7d",
          "A running agent without a task assignment (or with an expired lease) this long is recycled by the reaper." },

        { "Resources", "Memory", parse_size_range, offsetof(Agent, memory_max), MEMORY_MIN, MEMORY_MAX_LIMIT, "512M", false,
          "a size from 16M to 1T (suffixes K, M, G, T)",
          "Memory limit (MemoryMax=), swap is off." },
        { "Resources", "CPUQuota", parse_cpu_quota, offsetof(Agent, cpu_quota_percent), 1, 0, "100%", false,
          "a percentage from 1% to 100% per CPU of this host",
          "CPU time limit." },
        { "Resources", "Tasks", parse_uint, offsetof(Agent, tasks_max), TASKS_MIN, TASKS_MAX_LIMIT, "256", false,
          "an integer from 1 to 65536",
          "Maximum number of processes and threads (TasksMax=)." },

        { "Security", "Capabilities", parse_capabilities, offsetof(Agent, cap_net_bind_service), 0, 0, NULL, false,
          "CAP_NET_BIND_SERVICE or nothing (the Kubernetes \"restricted\" rule)",
          "Capabilities added back to the agent." },
        { "Security", "SystemCalls", parse_system_calls, offsetof(Agent, system_calls), 0, EXTRA_SYSCALLS_MAX, NULL, false,
          "system call names known to libseccomp, none of the never-allowed ones",
          "System calls added to the allow-list." },
        { "Security", "MemoryDenyWriteExecute", parse_bool, offsetof(Agent, memory_deny_write_execute), 0, 0, "yes", false,
          "a boolean (yes/no)",
          "no lets the agent map writable and executable memory (JIT runtimes: V8/Node.js, JVMs); with yes such a "
          "runtime fails at start and agent-init names this key." },
        { "Security", "Network", parse_network, offsetof(Agent, network), 0, 0, "none", false,
          "none or private",
          "none: loopback only; private: a veth link to the host." },

        { "Volumes", "Workspace", parse_size_range, offsetof(Agent, workspace_size), WORKSPACE_SIZE_MIN, WORKSPACE_SIZE_MAX, "500M", false,
          "a size from 1M to 64G, a multiple of 4K",
          "Size of the encrypted volatile /workspace." },
        { "Volumes", "Tmp", parse_size_range, offsetof(Agent, tmp_size), TMP_SIZE_MIN, TMP_SIZE_MAX, "100M", false,
          "a size from 1M to 16G, a multiple of 4K",
          "Size of the /tmp tmpfs." },
        { "Volumes", "SharedState", parse_shared_state, offsetof(Agent, shared_state), 0, 0, NULL, false,
          "an absolute directory below /var/lib/agents/ (not the image store)",
          "Host directory bind-mounted read-write at /shared for durable outputs." },

        { "Secrets", "*", NULL, 0, 0, 0, NULL, false,
          "a file below /etc/agents/secrets/, or cred:ID for a systemd credential of the agent's own "
          "(ID is NAME or NAME.SUFFIX) or one the site shares; at most 64 secrets",
          "Secret NAME delivered as /run/secrets/NAME (0400, owned by the agent)." },

        { "Egress", "Allow", parse_egress_hosts, offsetof(Agent, egress_allow), 0, EGRESS_PATTERNS_MAX, NULL, false,
          "host names or *.domain (any subdomain, not the domain itself), each with an optional :PORT (default 443); no IP literals, no bare *",
          "Hosts the agent may reach through the egress proxy at 127.0.0.1:3128 (needs Network=none); without it the agent has no proxy." },
        { "Egress", "Deny", parse_egress_hosts, offsetof(Agent, egress_deny), 0, EGRESS_PATTERNS_MAX, NULL, false,
          "patterns like those of Allow=",
          "Hosts refused even when Allow= matches them." },
        { "Egress", "Methods", parse_egress_methods, offsetof(Agent, egress_read_only), 0, 0, "all", false,
          "all or read-only",
          "read-only: plain HTTP requests may only be GET, HEAD or OPTIONS (CONNECT to allowed hosts still works)." },
};
const size_t schema_n_keys = ELEMENTSOF(schema_keys);

static bool same_first_letter(const char *a, const char *b) {
        return tolower((unsigned char) a[0]) == tolower((unsigned char) b[0]);
}

/* The table cut into runs of rows of one section, once: a look-up compares
 * the section with a handful of runs, then the key with the rows of its
 * own section only. */
typedef struct SectionRun {
        size_t first, end;
} SectionRun;

static size_t section_runs(const SectionRun **ret) {
        static SectionRun runs[ELEMENTSOF(schema_keys)];
        static size_t n_runs;

        if (n_runs == 0)
                for (size_t i = 0; i < schema_n_keys; i++) {
                        if (n_runs == 0 || strcmp(schema_keys[i].section, schema_keys[i - 1].section) != 0)
                                runs[n_runs++] = (SectionRun) { i, i };
                        runs[n_runs - 1].end = i + 1;
                }
        *ret = runs;
        return n_runs;
}

const SchemaKey *schema_find(const char *section, const char *key, bool *ret_section_known) {
        static size_t last; /* a file's keys come section by section: try the last run first */
        const SectionRun *runs;
        size_t n_runs = section_runs(&runs);
        bool known = false;

        for (size_t j = 0; j < n_runs; j++) {
                size_t r = j == 0 ? last : j <= last ? j - 1 : j; /* last first, then the others in order */
                const char *s = schema_keys[runs[r].first].section;

                if (!same_first_letter(s, section) || strcasecmp(s, section) != 0)
                        continue;
                known = true;
                last = r;
                for (size_t i = runs[r].first; i < runs[r].end; i++) {
                        const SchemaKey *k = &schema_keys[i];

                        if (k->key[0] == '*' || (same_first_letter(k->key, key) && strcasecmp(k->key, key) == 0)) {
                                if (ret_section_known)
                                        *ret_section_known = true;
                                return k;
                        }
                }
        }
        if (ret_section_known)
                *ret_section_known = known;
        return NULL;
}

int schema_apply_defaults(Agent *a) {
        for (size_t i = 0; i < schema_n_keys; i++) {
                const SchemaKey *k = &schema_keys[i];
                char why[128];

                if (!k->default_value)
                        continue;
                int r = k->parse(k, k->default_value, a, why, sizeof why);
                if (r < 0)
                        return r; /* a broken default is a bug; tests catch it */
        }
        return 0;
}

/* roff needs backslashes doubled and a leading '.' or '\'' escaped. */
static void roff_text(FILE *f, const char *s) {
        if (*s == '.' || *s == '\'')
                fputs("\\&", f);
        for (; *s; s++)
                if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '-')
                        fputs("\\-", f);
                else
                        fputc(*s, f);
}

void schema_dump(FILE *f, bool roff) {
        const char *section = NULL;

        for (size_t i = 0; i < schema_n_keys; i++) {
                const SchemaKey *k = &schema_keys[i];
                const char *key = streq(k->key, "*") ? "NAME" : k->key;
                const char *def = k->default_value ? k->default_value : (k->required ? "(required)" : "(none)");

                if (!roff) {
                        fprintf(f, "[%s] %s=\n    %s\n    Allowed: %s.\n    Default: %s\n", k->section, key, k->doc,
                                k->allowed, def);
                        continue;
                }
                if (!section || !streq(section, k->section)) {
                        fprintf(f, ".SS \"[%s] section\"\n", k->section);
                        section = k->section;
                }
                fprintf(f, ".TP\n.B %s=\n", key);
                roff_text(f, k->doc);
                fputs("\n.br\nAllowed: ", f);
                roff_text(f, k->allowed);
                fputs(".\n.br\nDefault: ", f);
                roff_text(f, def);
                fputs(".\n", f);
        }
}
