/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The agent as one `docker run` command line. Every word is quoted for a
 * POSIX shell at the point it is written, so that a definition's strings
 * (spaces, quotes, $, backquotes, newlines) reach docker as exactly the
 * argument they were. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "macro.h"

int export_image_ref(const Agent *a, const ExportOptions *o, const char **ret) {
        if (o->image) {
                *ret = o->image;
                return 0;
        }
        if (a->image[0] == '/')
                return -EINVAL;
        *ret = a->image;
        return 0;
}

static bool shell_safe(const char *s) {
        if (!*s)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-", *p))
                        return false;
        return true;
}

void shell_quote(Buffer *b, const char *s) {
        if (shell_safe(s)) {
                buffer_puts(b, s);
                return;
        }
        /* Inside single quotes nothing is special but the quote itself. */
        buffer_put(b, "'", 1);
        for (const char *p = s; *p; p++)
                if (*p == '\'')
                        buffer_puts(b, "'\\''");
                else
                        buffer_put(b, p, 1);
        buffer_put(b, "'", 1);
}

/* One line of the command: "  OPT [VALUE] \". */
static void arg(Buffer *b, const char *opt, const char *value) {
        buffer_puts(b, "  ");
        buffer_puts(b, opt);
        if (value) {
                buffer_put(b, " ", 1);
                shell_quote(b, value);
        }
        buffer_puts(b, " \\\n");
}

static void argf(Buffer *b, const char *opt, const char *fmt, ...) _printf_(3, 4);
static void argf(Buffer *b, const char *opt, const char *fmt, ...) {
        _cleanup_free_ char *v = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&v, fmt, ap) < 0) {
                v = NULL;
                b->failed = true;
        }
        va_end(ap);
        if (v)
                arg(b, opt, v);
}

/* The field "source=PATH" of docker's --mount value: that value is read as
 * CSV, so the whole field is quoted the CSV way (a comma in PATH stays in it,
 * a quote is doubled). */
static char *csv_source(const char *s) {
        Buffer f = {};

        buffer_puts(&f, "\"source=");
        for (const char *p = s; *p; p++) {
                if (*p == '"')
                        buffer_put(&f, "\"", 1); /* a quote is doubled */
                buffer_put(&f, p, 1);
        }
        buffer_put(&f, "\"", 1);
        buffer_put(&f, "", 1);
        if (buffer_status(&f) < 0) {
                buffer_done(&f);
                return NULL;
        }
        return f.data;
}

static void docker_header(Buffer *b, const Agent *a) {
        buffer_printf(b,
                      "#!/bin/sh\n"
                      "# agentctl export %s --format docker: the agent's floor as a docker run command.\n"
                      "# The seccomp profile comes from: agentctl export %s --format oci-seccomp\n"
                      "# What differs from agentcage:\n"
                      "# - user namespace: docker has no per-container one (--userns only takes \"host\");\n"
                      "#   set \"userns-remap\" in /etc/docker/daemon.json to run the agent's uid unprivileged on the host.\n"
                      "# - /workspace is a plain tmpfs, not an encrypted volatile volume whose key dies on recycle.\n"
                      "# - no agent-init: docker's --init (tini) reaps, but does not install the filter after the runtime's.\n"
                      "# - no heartbeats (WatchdogSec=, Notify=), no health check (docker runs --health-cmd through a shell),\n"
                      "#   no orphan reaping, no RestartSec=; the AppArmor profile agentcage-agent must be loaded on the host.\n",
                      a->name, a->name);
        if (a->network == NETWORK_PRIVATE)
                buffer_puts(b, "# - Network=private: docker's default bridge reaches further than agentcage's host-only link.\n");
        if (a->egress_allow)
                buffer_puts(b, "# - [Egress] is not carried: docker has no proxy that checks host names, so the agent runs with\n"
                               "#   --network none and reaches nothing; give it an egress proxy of your own (a network with it\n"
                               "#   alone, HTTP(S)_PROXY pointing at it) to reach the hosts of Allow=.\n");
        for (size_t i = 0; i < a->n_secrets; i++)
                if (strncmp(a->secrets[i].source, "cred:", 5) == 0)
                        buffer_printf(b, "# - secret %s comes from the systemd credential %s: give docker a file with its content.\n",
                                      a->secrets[i].name, a->secrets[i].source + 5);
}

static void docker_secrets(Buffer *b, const Agent *a) {
        for (size_t i = 0; i < a->n_secrets; i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL;

                if (strncmp(a->secrets[i].source, "cred:", 5) == 0)
                        continue; /* said in the header */
                src = csv_source(a->secrets[i].source);
                if (!src || asprintf(&dst, "/run/secrets/%s", a->secrets[i].name) < 0) {
                        b->failed = true;
                        return;
                }
                argf(b, "--mount", "type=bind,%s,target=%s,readonly", src, dst);
        }
}

int export_docker(const Agent *a, const ExportOptions *o, Buffer *b) {
        _cleanup_free_ char *profile = NULL;
        const char *image;
        int r;

        r = export_image_ref(a, o, &image);
        if (r < 0)
                return r;
        if (o->seccomp_profile)
                profile = strdup(o->seccomp_profile);
        else if (asprintf(&profile, EXPORT_DOCKER_PROFILE_FMT, a->name) < 0)
                profile = NULL;
        if (!profile)
                return -ENOMEM;

        docker_header(b, a);
        buffer_puts(b, "exec docker run \\\n");
        argf(b, "--name", "agentcage-%s", a->name);
        if (a->restart == RESTART_NO)
                arg(b, "--rm", NULL);
        else if (a->restart == RESTART_ON_FAILURE)
                argf(b, "--restart", "on-failure:%" PRIu64, a->max_restarts);
        else
                arg(b, "--restart", "always");
        arg(b, "--read-only", NULL);
        arg(b, "--cap-drop", "ALL");
        if (a->cap_net_bind_service)
                arg(b, "--cap-add", "NET_BIND_SERVICE");
        arg(b, "--security-opt", "no-new-privileges");
        argf(b, "--security-opt", "seccomp=%s", profile);
        arg(b, "--security-opt", "apparmor=" EXPORT_APPARMOR_PROFILE);
        argf(b, "--user", "%" PRIu64 ":%" PRIu64, a->user, a->user);
        if (a->network == NETWORK_NONE)
                arg(b, "--network", "none");
        argf(b, "--tmpfs", "/tmp:size=%" PRIu64 ",noexec,nosuid,nodev", a->tmp_size);
        argf(b, "--tmpfs", "/workspace:size=%" PRIu64 ",nosuid,nodev", a->workspace_size);
        argf(b, "--memory", "%" PRIu64, a->memory_max);
        argf(b, "--memory-swap", "%" PRIu64, a->memory_max);
        argf(b, "--cpus", "%" PRIu64 ".%02" PRIu64, a->cpu_quota_percent / 100, a->cpu_quota_percent % 100);
        argf(b, "--pids-limit", "%" PRIu64, a->tasks_max);
        for (size_t i = 0; a->environment && a->environment[i]; i++)
                arg(b, "-e", a->environment[i]);
        arg(b, "--workdir", a->working_directory);
        docker_secrets(b, a);
        if (a->shared_state) {
                _cleanup_free_ char *src = csv_source(a->shared_state);
                if (!src)
                        return -ENOMEM;
                argf(b, "--mount", "type=bind,%s,target=/shared", src);
        }
        argf(b, "--entrypoint", "%s", a->exec[0]);
        buffer_puts(b, "  ");
        shell_quote(b, image);
        for (size_t i = 1; a->exec[i]; i++) {
                buffer_put(b, " ", 1);
                shell_quote(b, a->exec[i]);
        }
        buffer_put(b, "\n", 1);
        return buffer_status(b);
}
