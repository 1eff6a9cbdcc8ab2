/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-runtime start: Provision and Configure, then become systemd-nspawn.
 *
 *   agent-runtime start --name=NAME PROVISION-OPTIONS… CONFIGURE-OPTIONS…
 *                       -- /usr/bin/systemd-nspawn NSPAWN-ARGS…
 *
 * Why one process: systemd gives every Exec*= command of a sandboxed unit a
 * mount namespace of its own, so mounts made by an ExecStartPre= helper are
 * gone before ExecStart= runs. Done here, the image mount, the secrets and
 * the encrypted workspace are made in the very namespace systemd-nspawn then
 * runs in (we exec it, keeping the PID systemd watches), and they vanish with
 * that namespace however the agent ends; ExecStopPost= recycle destroys what
 * is global (the dm-crypt mapping, the loop device, the state directory).
 *
 * The nspawn arguments must contain "--private-users=ALLOCATED" exactly once;
 * it is replaced by the user-namespace range configure allocated. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "parse-value.h"
#include "runtime.h"

#define USERNS_PLACEHOLDER "--private-users=ALLOCATED"

/* Options of start and the verb each belongs to. */
static const struct {
        const char *name;
        bool provision, configure;
} routed[] = {
        { "name",           true,  true  },
        { "image",          true,  false },
        { "image-digest",   true,  false },
        { "image-allow",    true,  false },
        { "memory-deny-write-execute", false, true },
        { "uid",            false, true  },
        { "workspace-size", false, true  },
        { "tmp-size",       false, true  },
        { "syscalls",       false, true  },
        { "secret",         false, true  },
        { "shared-state",   false, true  },
};

/* ARGS as the argv of verb VERB_NAME (argv[0] is the verb). */
static char **verb_argv(const char *verb_name, char **args, size_t n) {
        char **argv = calloc(n + 2, sizeof(char *));

        if (!argv)
                return NULL;
        argv[0] = (char *) verb_name;
        memcpy(argv + 1, args, n * sizeof(char *));
        optind = 0; /* the verb parses its own options from the start */
        return argv;
}

static int run_verb(int (*verb)(int, char *[]), const char *verb_name, char **args, size_t n) {
        _cleanup_free_ char **argv = verb_argv(verb_name, args, n);

        if (!argv)
                return log_oom();
        return verb((int) n + 1, argv);
}

static int run_provision(char **args, size_t n, char ***ret_exceptions) {
        _cleanup_free_ char **argv = verb_argv("provision", args, n);

        if (!argv)
                return log_oom();
        return provision_image((int) n + 1, argv, ret_exceptions);
}

static int read_userns(const char *name, char **ret) {
        const char *root = getenv("AGENTCAGE_RUNTIME_DIR") ?: AGENT_RUNTIME_ROOT_DEFAULT;
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t size = 0;
        ssize_t n;

        if (asprintf(&path, "%s/%s/runtime.env", root, name) < 0)
                return log_oom();
        f = fopen(path, "re");
        if (!f)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
        n = getline(&line, &size, f);
        if (n <= 0 || strncmp(line, "AGENTCAGE_USERNS=", 17) != 0)
                return log_error_errno(-EBADMSG, "%s does not name a user-namespace range.", path);
        if (line[n - 1] == '\n')
                line[n - 1] = '\0';
        /* BASE:65536, digits only: it becomes an nspawn argument. */
        const char *v = line + 17, *colon = strchr(v, ':');
        if (!colon || colon == v || strspn(v, "0123456789") != (size_t) (colon - v) ||
            strcmp(colon + 1, "65536") != 0)
                return log_error_errno(-EBADMSG, "%s: malformed range '%s'.", path, v);
        if (asprintf(ret, "--private-users=%s", v) < 0)
                return log_oom();
        return 0;
}

int verb_start(int argc, char *argv[]) {
        _cleanup_free_ char **prov = NULL, **conf = NULL;
        _cleanup_free_ char *userns = NULL;
        _cleanup_strv_free_ char **image_exceptions = NULL;
        const char *name = NULL;
        size_t n_prov = 0, n_conf = 0;
        int i, dashdash = -1, placeholder = -1, r;

        prov = calloc((size_t) argc, sizeof(char *));
        conf = calloc((size_t) argc, sizeof(char *));
        if (!prov || !conf)
                return log_oom();

        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                size_t k;

                if (streq(a, "--")) {
                        dashdash = i;
                        break;
                }
                if (strncmp(a, "--", 2) != 0 || !strchr(a, '='))
                        return log_error_errno(-EINVAL, "start: expected --OPTION=VALUE, got '%s'.", a);
                for (k = 0; k < ELEMENTSOF(routed); k++) {
                        size_t len = strlen(routed[k].name);
                        if (strncmp(a + 2, routed[k].name, len) == 0 && a[2 + len] == '=')
                                break;
                }
                if (k == ELEMENTSOF(routed))
                        return log_error_errno(-EINVAL, "start: unknown option '%.*s'.",
                                               (int) (strchr(a, '=') - a), a);
                if (streq(routed[k].name, "name"))
                        name = a + 7;
                if (routed[k].provision)
                        prov[n_prov++] = argv[i];
                if (routed[k].configure)
                        conf[n_conf++] = argv[i];
        }
        if (!name || !agent_name_is_valid(name))
                return log_error_errno(-EINVAL, "start: --name= with a valid agent name is required.");
        if (dashdash < 0 || dashdash + 1 >= argc || argv[dashdash + 1][0] != '/')
                return log_error_errno(-EINVAL, "start: expected -- and the absolute path of systemd-nspawn.");
        for (i = dashdash + 1; i < argc; i++)
                if (streq(argv[i], USERNS_PLACEHOLDER)) {
                        if (placeholder >= 0)
                                return log_error_errno(-EINVAL, "start: %s given twice.", USERNS_PLACEHOLDER);
                        placeholder = i;
                }
        if (placeholder < 0)
                /* Never run an agent without its own user namespace. */
                return log_error_errno(-EINVAL, "start: the nspawn arguments lack %s.", USERNS_PLACEHOLDER);

        /* The ImageAllow= paths the image needed; provision logged them in
         * one line ("approved-image policy exceptions used"). */
        r = run_provision(prov, n_prov, &image_exceptions);
        if (r < 0)
                return r;
        /* HAND-OVER agent.state: where start writes AgentStateInfo, set
         * info.image_exceptions = image_exceptions (NULL when none was used). */
        r = run_verb(verb_configure, "configure", conf, n_conf);
        if (r < 0)
                return r;
        r = read_userns(name, &userns);
        if (r < 0)
                return r;

        argv[placeholder] = userns;
        log_debug("Agent %s provisioned and configured, starting systemd-nspawn.", name);
        execv(argv[dashdash + 1], argv + dashdash + 1);
        return log_error_errno(negative_errno(), "Failed to execute %s: %m", argv[dashdash + 1]);
}
