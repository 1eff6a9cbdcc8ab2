/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command line of systemd-nspawn and of agent-init, built from a
 * RuntimeConfig and the agent's user-namespace range: the one place that
 * knows how the container is put together (docs/DESIGN.md, "The runtime
 * contract"). Paths come from agent-state.h. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-state.h"
#include "buffer.h"
#include "capability-table.h"
#include "config.h"
#include "egress-handover.h"
#include "macro.h"
#include "parse-value.h"
#include "runtime-config.h"
#include "configure.h"

typedef struct Argv {
        char **v;
        size_t n, allocated;
        bool failed;
} Argv;

/* Appends one word, printf-style. */
_printf_(2, 3)
static void add(Argv *a, const char *fmt, ...) {
        va_list ap;
        char *w = NULL;

        if (a->failed)
                return;
        if (a->n + 2 > a->allocated) {
                size_t k = a->allocated ? a->allocated * 2 : 64;
                char **nv = realloc(a->v, sizeof(char *) * k);
                if (!nv) {
                        a->failed = true;
                        return;
                }
                a->v = nv;
                a->allocated = k;
        }
        va_start(ap, fmt);
        if (vasprintf(&w, fmt, ap) < 0)
                w = NULL;
        va_end(ap);
        if (!w) {
                a->failed = true;
                return;
        }
        a->v[a->n++] = w;
        a->v[a->n] = NULL;
}

/* Every capability except what agent-init needs (src/basic/capability-table.h,
 * CAPABILITY_INIT_KEEPS), and CAP_NET_BIND_SERVICE when it is kept;
 * agent-init drops the rest. */
static int drop_capability_list(bool keep_net_bind, char **ret) {
        _cleanup_(buffer_done) Buffer b = {};

        for (size_t i = 0; i < capability_table_size; i++) {
                const char *c = capability_table[i].name;
                if (capability_kept_for_init(c, keep_net_bind))
                        continue;
                buffer_printf(&b, "%s%s", b.len ? "," : "", c);
        }
        buffer_put(&b, "", 1);
        if (buffer_status(&b) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(b.data);
        return 0;
}

static void add_init(Argv *a, const RuntimeConfig *c) {
        add(a, "%s", AGENT_INIT_CONTAINER_PATH);
        add(a, "--uid=%u", (unsigned) c->uid);
        if (c->keep_net_bind_service)
                add(a, "--keep-caps=CAP_NET_BIND_SERVICE");
        add(a, "--seccomp-filter=%s", AGENT_SECCOMP_CONTAINER_PATH);
        add(a, "--require-userns");
        if (c->apparmor == APPARMOR_OPTIONAL)
                add(a, "--apparmor=optional");
        /* agent-init names the key when a JIT dies under W^X. */
        if (c->allow_write_execute)
                add(a, "--memory-deny-write-execute=no");
        /* After the uid change: the workspace belongs to the agent's uid. */
        add(a, "--chdir=%s", c->working_directory);
        if (c->notify)
                add(a, "--notify");
        if (c->watchdog_usec > 0)
                add(a, "--watchdog-usec=%" PRIu64, c->watchdog_usec);
        if (c->health_check) {
                add(a, "--health-interval-usec=%" PRIu64, c->health_interval_usec);
                add(a, "--health-retries=%" PRIu64, c->health_retries);
                for (char **w = c->health_check; *w; w++)
                        add(a, "--health-check=%s", *w);
        }
        add(a, "--");
        for (char **w = c->exec; *w; w++)
                add(a, "%s", *w);
}

static void add_binds(Argv *a, const char *dir, const RuntimeConfig *c) {
        add(a, "--bind=%s/%s:/tmp", dir, AGENT_STATE_TMP_DIR);
        /* nspawn's own /dev/shm would be executable: it becomes the agent's
         * noexec, size-bounded /tmp. */
        add(a, "--bind=%s/%s:/dev/shm", dir, AGENT_STATE_TMP_DIR);
        add(a, "--bind=%s/%s:/workspace", dir, AGENT_STATE_WORKSPACE_DIR);
        add(a, "--bind-ro=%s/%s:/run/secrets", dir, AGENT_STATE_SECRETS_DIR);
        add(a, "--bind-ro=%s:%s", AGENT_INIT_PATH, AGENT_INIT_CONTAINER_PATH);
        add(a, "--bind-ro=%s/%s:%s", dir, AGENT_STATE_SECCOMP, AGENT_SECCOMP_CONTAINER_PATH);
        if (c->shared_state)
                add(a, "--bind=%s:/shared", c->shared_state);
}

int runtime_nspawn_argv(const RuntimeConfig *c, uint32_t userns_base, char ***ret) {
        _cleanup_free_ char *dir = NULL, *drop = NULL;
        Argv a = {};

        if (agent_state_path(c->name, NULL, &dir) < 0 || drop_capability_list(c->keep_net_bind_service, &drop) < 0)
                return -ENOMEM;

        add(&a, "%s", NSPAWN_PATH);
        add(&a, "--quiet");
        add(&a, "--keep-unit");
        add(&a, "--register=yes");
        add(&a, "--machine=%s", c->name);
        add(&a, "--directory=%s/%s", dir, AGENT_STATE_ROOT_DIR);
        add(&a, "--read-only");
        add(&a, "--private-users=%" PRIu32 ":%u", userns_base, USERNS_RANGE_SIZE);
        add(&a, "--private-users-ownership=off");
        /* egress: nspawn stays in the unit's own namespace (PrivateNetwork=yes,
         * lo only), where start made the egress proxy's listener. */
        if (c->network == RUNTIME_NETWORK_PRIVATE)
                add(&a, "--network-veth");
        else if (c->network == RUNTIME_NETWORK_NONE)
                add(&a, "--private-network");
        add(&a, "--no-new-privileges=yes");
        /* nspawn's own allow-list lacks Landlock, which agent-init needs. */
        add(&a, "--system-call-filter=landlock_create_ruleset landlock_add_rule landlock_restrict_self");
        add(&a, "--drop-capability=%s", drop);
        add_binds(&a, dir, c);
        add(&a, "--console=pipe");
        if (c->notify)
                add(&a, "--notify-ready=yes");
        add(&a, "--settings=no");
        add(&a, "--link-journal=no");
        add(&a, "--resolv-conf=off");
        add(&a, "--timezone=off");
        add(&a, "--kill-signal=SIGTERM");
        /* nspawn would say HOME=/root and USER=root; the definition's own
         * environment comes after and wins. */
        add(&a, "--setenv=HOME=%s", c->working_directory);
        add(&a, "--setenv=USER=agent");
        add(&a, "--setenv=LOGNAME=agent");
        for (char **e = c->environment; e && *e; e++)
                add(&a, "--setenv=%s", *e);
        /* [Egress]: after the definition's own, so that the proxy is found. */
        if (c->network == RUNTIME_NETWORK_EGRESS)
                for (const char *const *e = egress_proxy_environment; *e; e++)
                        add(&a, "--setenv=%s", *e);
        add(&a, "--");
        add_init(&a, c);

        if (a.failed) {
                strv_free(a.v);
                return -ENOMEM;
        }
        *ret = a.v;
        return 0;
}
