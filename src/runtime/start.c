/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-runtime start: Provision and Configure, then become systemd-nspawn.
 *
 *   agent-runtime start --name=NAME --image=IMAGE … -- EXEC ARGS…
 *
 * The options are parsed once into a RuntimeConfig (runtime-config.c); the
 * nspawn and agent-init command lines are built from it and from the
 * user-namespace range configure leased (nspawn-cmdline.c).
 *
 * Why one process: systemd gives every Exec*= command of a sandboxed unit a
 * mount namespace of its own, so mounts made by an ExecStartPre= helper are
 * gone before ExecStart= runs. Done here, the image mount, the secrets and
 * the encrypted workspace are made in the very namespace systemd-nspawn then
 * runs in (we exec it, keeping the PID systemd watches), and they vanish with
 * that namespace however the agent ends; ExecStopPost= recycle destroys what
 * is global (the dm-crypt mapping, the loop device, the state directory). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent-state.h"
#include "configure.h"
#include "egress-handover.h"
#include "log.h"
#include "parse-value.h"
#include "runtime.h"

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* agent.state: what agentctl needs about the running agent, fixed now. */
static int write_state(const RuntimeConfig *c, uint32_t base, char **image_exceptions) {
        AgentStateInfo info = {
                .started_usec = now_realtime_usec(),
                .orphan_timeout_usec = c->orphan_timeout_usec,
                .userns_base = base,
                .apparmor = c->apparmor,
                .image = c->image,
                .image_digest = *c->image_digest ? (char *) c->image_digest : NULL,
                .image_exceptions = image_exceptions,
        };
        int r = agent_state_info_write(c->name, &info);

        if (r < 0)
                return log_error_errno(r, "Failed to write %s/%s/%s: %m", agent_state_root(), c->name, AGENT_STATE_INFO);
        return 0;
}

/* [Egress]: a listening socket on 127.0.0.1:3128 of this namespace (the
 * unit's own, lo only, which nspawn and the agent keep), handed to the one
 * host-side proxy, agentcage-egress, which serves it for this agent until
 * this process, systemd-nspawn after the exec, is gone (docs/DESIGN.md,
 * "Egress"). No proxy, no agent: it would only find its requests refused. */
static int egress_hand_over(const RuntimeConfig *c) {
        _cleanup_close_ int fd = -EBADF;
        char why[256] = "";
        int r;

        r = egress_listen_local(EGRESS_PROXY_PORT, &fd);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on 127.0.0.1:%d for agent %s's egress proxy: %m",
                                       EGRESS_PROXY_PORT, c->name);
        r = egress_register_agent(NULL, c->name, fd, why, sizeof why);
        if (r == -EPROTO)
                return log_error_errno(r, "The egress proxy refused agent %s: %s", c->name, why);
        if (r < 0)
                return log_error_errno(r, "Failed to hand agent %s's listener to the egress proxy at %s "
                                          "(is agentcage-egress.socket running?): %m", c->name, EGRESS_CONTROL_SOCKET);
        log_info("Agent %s reaches the egress proxy at %s.", c->name, EGRESS_PROXY_URL);
        return 0;
}

int runtime_start(const RuntimeConfig *c) {
        _cleanup_strv_free_ char **argv = NULL, **image_exceptions = NULL;
        uint32_t base;
        int r;

        /* Not the mount namespace: everything is made in the unit's own, which
         * is exactly where systemd-nspawn is executed next. But the IPC
         * namespace: with PrivateIPC= libdevmapper's udev cookies would never
         * be completed by udev and every dm-crypt step would hang. */
        r = join_host_namespaces(/* mount= */ false);
        if (r < 0)
                return r;
        if (c->apparmor == APPARMOR_OPTIONAL)
                log_warning("Agent %s may run WITHOUT AppArmor confinement: the site chose "
                            "AGENTCAGE_APPARMOR=optional. agent-init says whether the profile was entered.",
                            c->name);
        r = runtime_provision(c, &image_exceptions);
        if (r < 0)
                return r;
        /* Before the first secret or byte of workspace exists. */
        r = memory_wipe_check();
        if (r < 0)
                return r;
        r = runtime_configure(c, &base);
        if (r < 0)
                return log_error_errno(r, "Failed to configure agent %s: %m", c->name);
        r = runtime_nspawn_argv(c, base, &argv);
        if (r < 0)
                return log_oom();
        r = write_state(c, base, image_exceptions);
        if (r < 0)
                return r;
        if (c->network == RUNTIME_NETWORK_EGRESS) {
                r = egress_hand_over(c);
                if (r < 0)
                        return r;
        }

        log_debug("Agent %s provisioned and configured, starting systemd-nspawn.", c->name);
        /* systemd-nspawn logs to the journal socket when its stderr is a
         * journal stream, and its outer child does so from inside the
         * container's mounts, where there is no socket: its errors were lost.
         * On stderr they reach the unit's journal from every process. */
        if (setenv("SYSTEMD_LOG_TARGET", "console", 1) < 0)
                return log_oom();
        execv(argv[0], argv);
        return log_error_errno(negative_errno(), "Failed to execute %s: %m", argv[0]);
}

int verb_start(int argc, char *argv[]) {
        _cleanup_(runtime_config_done) RuntimeConfig c = {};
        int r;

        r = runtime_config_parse_argv(RUNTIME_VERB_START, argc, argv, &c);
        if (r <= 0)
                return r;
        return runtime_start(&c);
}
