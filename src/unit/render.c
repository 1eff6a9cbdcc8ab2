/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-service-template.h"
#include "config.h"
#include "parse-value.h"
#include "render.h"
#include "schema.h"

void render_unit_value(Buffer *b, const char *s) {
        for (const char *p = s; *p;) {
                const char *pct = strchr(p, '%');
                if (!pct) {
                        buffer_puts(b, p);
                        return;
                }
                buffer_put(b, p, (size_t) (pct - p));
                buffer_puts(b, "%%");
                p = pct + 1;
        }
}

/* Characters an Exec= word may contain without quoting: no whitespace,
 * quotes, backslash, '%' (specifiers), '$' (variables) or ';'. A table,
 * because this runs for every character of every word of every unit. */
static const bool exec_safe[256] = {
        ['a' ... 'z'] = true, ['A' ... 'Z'] = true, ['0' ... '9'] = true,
        ['/'] = true, ['.'] = true, ['_'] = true, ['-'] = true, ['='] = true,
        [','] = true, [':'] = true, ['+'] = true, ['@'] = true,
};

void render_exec_word(Buffer *b, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (exec_safe[*p])
                p++;
        if (*p == '\0' && p != (const unsigned char *) s) {
                buffer_put(b, s, (size_t) (p - (const unsigned char *) s));
                return;
        }

        /* systemd splits Exec lines at whitespace, honours quotes, undoes C
         * escapes, expands %-specifiers at load and $VARIABLES at exec: a
         * double-quoted word with all four escaped reaches the program as is. */
        buffer_put(b, "\"", 1);
        for (p = (const unsigned char *) s; *p; p++)
                switch (*p) {
                case '\\': buffer_puts(b, "\\\\"); break;
                case '"':  buffer_puts(b, "\\\""); break;
                case '%':  buffer_puts(b, "%%"); break;
                case '$':  buffer_puts(b, "$$"); break;
                case '\n': buffer_puts(b, "\\n"); break;
                case '\t': buffer_puts(b, "\\t"); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                buffer_printf(b, "\\x%02x", *p);
                        else
                                buffer_put(b, (const char *) p, 1);
                }
        buffer_put(b, "\"", 1);
}

/* An argument list built as a list and quoted once, at emission. The words
 * live back to back in one buffer (no allocation per word). */
typedef struct ArgList {
        Buffer text;
        size_t start[512];
        size_t n;
        bool failed;
} ArgList;

static void args_done(ArgList *l) {
        buffer_done(&l->text);
        l->n = 0;
}

/* Appends the concatenation of the given strings as one word. */
static void args_add_parts(ArgList *l, const char *const *parts, size_t n_parts) {
        if (l->failed)
                return;
        if (l->n >= ELEMENTSOF(l->start)) {
                l->failed = true;
                return;
        }
        l->start[l->n++] = l->text.len;
        for (size_t i = 0; i < n_parts; i++)
                buffer_puts(&l->text, parts[i]);
        buffer_put(&l->text, "", 1); /* the word's terminating NUL */
        if (buffer_status(&l->text) < 0)
                l->failed = true;
}
#define args_add(l, ...) \
        args_add_parts((l), (const char *const[]) { __VA_ARGS__ }, \
                       sizeof((const char *const[]) { __VA_ARGS__ }) / sizeof(const char *))

static const char *args_word(const ArgList *l, size_t i) {
        return l->text.data + l->start[i];
}

static const char *u64_str(uint64_t v, char buf[static 21]) {
        char *p = buf + 20;
        *p = '\0';
        do
                *--p = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        return p;
}

/* One Exec line, continued over several lines for "systemctl cat". */
static void emit_exec(Buffer *b, const char *setting, const char *prefix, const ArgList *l) {
        buffer_printf(b, "%s=%s", setting, prefix);
        for (size_t i = 0; i < l->n; i++) {
                if (i > 0)
                        buffer_puts(b, i == 1 ? " " : " \\\n        ");
                render_exec_word(b, args_word(l, i));
        }
        buffer_puts(b, "\n");
}

static void put_u64(Buffer *b, uint64_t v) {
        char buf[21];
        buffer_puts(b, u64_str(v, buf));
}

static void put_span(Buffer *b, uint64_t usec) {
        put_u64(b, usec / USEC_PER_SEC);
        buffer_put(b, "s", 1);
}

static const char *restart_name(RestartPolicy p) {
        switch (p) {
        case RESTART_NO: return "no";
        case RESTART_ALWAYS: return "always";
        default: return "on-failure";
        }
}

/* Lists as the runtime takes them: "a,b,c". */
static void args_add_joined(ArgList *l, const char *option, char **words) {
        Buffer s = {};

        for (char **c = words; *c; c++)
                buffer_printf(&s, "%s%s", c == words ? "" : ",", *c);
        if (buffer_status(&s) == 0)
                args_add(l, option, s.data);
        else
                l->failed = true;
        buffer_done(&s);
}

/* What the image, the sandbox and the volumes are made of. */
static void add_config_options(ArgList *l, const Agent *a) {
        char n1[21], n2[21], n3[21];

        args_add(l, "--name=", a->name);
        args_add(l, "--image=", a->image);
        if (a->image_digest)
                args_add(l, "--image-digest=", a->image_digest);
        args_add(l, "--uid=", u64_str(a->user, n1));
        args_add(l, "--workspace-size=", u64_str(a->workspace_size, n2));
        args_add(l, "--tmp-size=", u64_str(a->tmp_size, n3));
        if (a->system_calls)
                args_add_joined(l, "--syscalls=", a->system_calls);
        for (size_t i = 0; i < a->n_secrets; i++)
                args_add(l, "--secret=", a->secrets[i].name, "=", a->secrets[i].source);
        if (a->shared_state)
                args_add(l, "--shared-state=", a->shared_state);
        args_add(l, "--network=", a->network == NETWORK_PRIVATE ? "private" : "none");
        if (a->cap_net_bind_service)
                args_add(l, "--keep-caps=CAP_NET_BIND_SERVICE");
}

/* How the agent is run and watched. */
static void add_run_options(ArgList *l, const Agent *a) {
        char wd[21], hi[21], hr[21], ot[21];

        if (a->notify)
                args_add(l, "--notify");
        if (a->watchdog_usec > 0)
                args_add(l, "--watchdog-usec=", u64_str(a->watchdog_usec, wd));
        if (a->health_check) {
                args_add(l, "--health-interval-usec=", u64_str(a->health_interval_usec, hi));
                args_add(l, "--health-retries=", u64_str(a->health_retries, hr));
                for (char **w = a->health_check; *w; w++)
                        args_add(l, "--health-check=", *w);
        }
        for (char **e = a->environment; e && *e; e++)
                args_add(l, "--setenv=", *e);
        args_add(l, "--working-directory=", a->working_directory);
        args_add(l, "--orphan-timeout-usec=", u64_str(a->orphan_timeout_usec, ot));
}

/* ExecStart=: agent-runtime start and the one description of the agent's
 * runtime configuration; it builds the nspawn and agent-init command lines
 * itself (src/runtime/nspawn-cmdline.c). */
static int emit_start(const Agent *a, Buffer *b) {
        ArgList l = {};

        args_add(&l, AGENT_RUNTIME_PATH);
        args_add(&l, "start");
        add_config_options(&l, a);
        add_run_options(&l, a);
        args_add(&l, "--");
        for (char **w = a->exec; *w; w++)
                args_add(&l, *w);

        if (!l.failed)
                emit_exec(b, "ExecStart", "", &l);
        args_done(&l);
        return l.failed ? -ENOMEM : 0;
}

static int emit_recycle(const Agent *a, Buffer *b) {
        ArgList l = {};

        args_add(&l, AGENT_RUNTIME_PATH);
        args_add(&l, "recycle");
        args_add(&l, "--name=", a->name);
        if (!l.failed)
                emit_exec(b, "ExecStopPost", "+", &l);
        args_done(&l);
        return l.failed ? -ENOMEM : 0;
}

/* Where sealed credentials live; tests point it elsewhere. */
static const char *credstore_encrypted(void) {
        const char *e = getenv("AGENTCAGE_CREDSTORE_ENCRYPTED");
        return e && e[0] == '/' ? e : "/etc/credstore.encrypted";
}

static int emit_credentials(const Agent *a, Buffer *b) {
        for (size_t i = 0; i < a->n_secrets; i++) {
                char path[PATH_MAX];
                const char *id;

                if (strncmp(a->secrets[i].source, "cred:", 5) != 0)
                        continue;
                id = a->secrets[i].source + 5;
                /* One directive per credential: given both, systemd lets the
                 * second replace the first, and decrypting a plain one fails.
                 * A sealed credential is one that exists in the encrypted
                 * store when the units are generated; agent-runtime refuses
                 * the start when the credential is missing altogether. */
                (void) snprintf(path, sizeof path, "%s/%s", credstore_encrypted(), id);
                buffer_puts(b, access(path, F_OK) >= 0 ? "LoadCredentialEncrypted=" : "LoadCredential=");
                render_unit_value(b, id);
                buffer_puts(b, "\n");
        }
        return 0;
}

static int emit_network_sandbox(const Agent *a, Buffer *b) {
        if (a->network == NETWORK_NONE)
                buffer_puts(b, "# Network=none: nspawn and the agent have loopback only.\n"
                               "PrivateNetwork=yes\n"
                               "IPAddressDeny=any\n");
        else
                buffer_puts(b, "# Network=private: the agent's veth link is set up by nspawn.\n");
        return 0;
}

static int emit_source_comment(const Agent *a, Buffer *b) {
        buffer_puts(b, "#   definition: ");
        buffer_puts(b, a->source_path);
        buffer_puts(b, "\n");
        for (char **d = a->dropin_paths; d && *d; d++) {
                buffer_puts(b, "#   drop-in:    ");
                buffer_puts(b, *d);
                buffer_puts(b, "\n");
        }
        return 0;
}

/* Placeholders that fill a whole line (or several, or none). */
static const struct {
        const char *name;
        int (*emit)(const Agent *a, Buffer *b);
} line_placeholders[] = {
        { "SOURCE_COMMENT", emit_source_comment },
        { "CREDENTIALS", emit_credentials },
        { "EXEC_START", emit_start },
        { "EXEC_RECYCLE", emit_recycle },
        { "NETWORK_SANDBOX", emit_network_sandbox },
};

/* " \"-DIR\"" for ReadWritePaths=: the shared state must be writable under
 * ProtectSystem=strict; '-' because the runtime, not systemd, reports a
 * missing directory. The value is quoted (it may hold spaces) with '\\',
 * '"' escaped and '%' doubled. */
static void emit_shared_state_rw(const Agent *a, Buffer *b) {
        if (!a->shared_state)
                return;
        buffer_puts(b, " \"-");
        for (const char *p = a->shared_state; *p; p++) {
                if (*p == '\\' || *p == '"')
                        buffer_put(b, "\\", 1);
                if (*p == '%')
                        buffer_put(b, "%", 1);
                buffer_put(b, p, 1);
        }
        buffer_puts(b, "\"");
}

/* Placeholders inside a line: always a single value. */
static int emit_inline(const Agent *a, const char *name, size_t len, Buffer *b) {
#define IS(s) (len == strlen(s) && memcmp(name, s, len) == 0)
        if (IS("DESCRIPTION"))
                render_unit_value(b, a->description);
        else if (IS("SOURCE_PATH"))
                render_unit_value(b, a->source_path);
        else if (IS("NAME"))
                buffer_puts(b, a->name); /* validated: [a-z0-9-] only */
        else if (IS("START_LIMIT_BURST"))
                put_u64(b, a->max_restarts + 1);
        else if (IS("RUNTIME_MAX_SEC"))
                put_span(b, a->runtime_max_usec);
        else if (IS("RESTART"))
                buffer_puts(b, restart_name(a->restart));
        else if (IS("RESTART_SEC"))
                put_span(b, a->restart_usec);
        else if (IS("MEMORY_MAX"))
                put_u64(b, a->memory_max);
        else if (IS("CPU_QUOTA")) {
                put_u64(b, a->cpu_quota_percent);
                buffer_put(b, "%", 1);
        } else if (IS("TASKS_MAX"))
                put_u64(b, a->tasks_max);
        else if (IS("SHARED_STATE_RW"))
                emit_shared_state_rw(a, b);
        else
                return -EINVAL;
        return 0;
#undef IS
}

int render_unit(const Agent *a, Buffer *b) {
        const char *t = agent_service_template;

        while (*t) {
                const char *eol = strchrnul(t, '\n');
                size_t len = (size_t) (eol - t);

                /* A line that is exactly @NAME@ is a line placeholder. */
                if (len > 2 && t[0] == '@' && t[len - 1] == '@' && !memchr(t + 1, '@', len - 2)) {
                        bool found = false;
                        for (size_t i = 0; i < ELEMENTSOF(line_placeholders); i++)
                                if (strlen(line_placeholders[i].name) == len - 2 &&
                                    memcmp(line_placeholders[i].name, t + 1, len - 2) == 0) {
                                        int r = line_placeholders[i].emit(a, b);
                                        if (r < 0)
                                                return r;
                                        found = true;
                                        break;
                                }
                        if (!found)
                                return -EINVAL;
                } else {
                        const char *p = t;
                        while (p < eol) {
                                const char *at = memchr(p, '@', (size_t) (eol - p));
                                const char *end;
                                if (!at) {
                                        buffer_put(b, p, (size_t) (eol - p));
                                        break;
                                }
                                end = memchr(at + 1, '@', (size_t) (eol - at - 1));
                                /* '@' also appears in unit names (modprobe@loop):
                                 * a placeholder is upper case and '_' only. */
                                size_t n = end ? (size_t) (end - at - 1) : 0;
                                bool is_ph = end && n > 0 && strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == n;
                                if (!is_ph) {
                                        buffer_put(b, p, (size_t) (at - p) + 1);
                                        p = at + 1;
                                        continue;
                                }
                                buffer_put(b, p, (size_t) (at - p));
                                if (emit_inline(a, at + 1, n, b) < 0)
                                        return -EINVAL;
                                p = end + 1;
                        }
                        buffer_puts(b, "\n");
                }
                t = *eol ? eol + 1 : eol;
        }
        return buffer_status(b);
}
