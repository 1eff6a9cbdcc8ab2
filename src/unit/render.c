/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-limits.h"
#include "agent-service-template.h"
#include "config.h"
#include "parse-value.h"
#include "image-ref.h"
#include "render.h"
#include "render-egress.h"
#include "schema.h"

int render_unit_value(Buffer *b, const char *s) {
        size_t n = strlen(s);

        /* A unit setting has no escape for a line break, and a trailing
         * backslash continues the line: such a value cannot be written. */
        if (!string_is_printable_utf8(s, false) || (n > 0 && s[n - 1] == '\\'))
                return -EINVAL;
        for (const char *p = s; *p;) {
                const char *pct = strchr(p, '%');
                if (!pct) {
                        buffer_puts(b, p);
                        break;
                }
                buffer_put(b, p, (size_t) (pct - p));
                buffer_puts(b, "%%");
                p = pct + 1;
        }
        return 0;
}

void render_comment_text(Buffer *b, const char *s) {
        while (*s) {
                const char *run = s;
                size_t n;

                /* Printable ASCII other than '\\' goes as it is, a run at a time. */
                while ((unsigned char) *s >= 0x20 && (unsigned char) *s < 0x7f && *s != '\\')
                        s++;
                buffer_put(b, run, (size_t) (s - run));
                if (!*s)
                        break;
                n = utf8_printable_char_len(s, false);

                if (n == 0 || *s == '\\') {
                        /* C style, so that the reader sees which byte it was. */
                        buffer_printf(b, "\\x%02x", (unsigned char) *s);
                        s++;
                        continue;
                }
                buffer_put(b, s, n);
                s += n;
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

/* What must be escaped inside a double-quoted Exec= word (and the NUL that
 * ends it). */
static const bool exec_special[256] = {
        [0x00 ... 0x1f] = true, [0x7f] = true,
        ['\\'] = true, ['"'] = true, ['%'] = true, ['$'] = true,
};

/* Appends s with what exec_special marks escaped (inside double quotes). */
static void put_exec_escaped(Buffer *b, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                const unsigned char *run = p;

                while (!exec_special[*p])
                        p++;
                buffer_put(b, (const char *) run, (size_t) (p - run));
                switch (*p) {
                case '\0': continue;
                case '\\': buffer_put(b, "\\\\", 2); break;
                case '"':  buffer_put(b, "\\\"", 2); break;
                case '%':  buffer_put(b, "%%", 2); break;
                case '$':  buffer_put(b, "$$", 2); break;
                case '\n': buffer_put(b, "\\n", 2); break;
                case '\t': buffer_put(b, "\\t", 2); break;
                default:   buffer_printf(b, "\\x%02x", *p);
                }
                p++;
        }
}

/* One word, the concatenation of parts, written as it comes: bare when it
 * is not empty and every character is safe, else double-quoted. systemd
 * splits Exec lines at whitespace, honours quotes, undoes C escapes,
 * expands %-specifiers at load and $VARIABLES at exec: a double-quoted word
 * with all four escaped reaches the program as is. */
static void put_exec_word(Buffer *b, const char *const *parts, size_t n_parts) {
        size_t len[8];
        bool bare = false;

        if (n_parts > ELEMENTSOF(len)) { /* args_add() of more parts than any caller has */
                b->failed = true;
                return;
        }
        for (size_t i = 0; i < n_parts; i++) {
                const unsigned char *p = (const unsigned char *) parts[i];

                while (exec_safe[*p])
                        p++;
                len[i] = (size_t) (p - (const unsigned char *) parts[i]);
                if (*p != '\0') {
                        bare = false;
                        break;
                }
                bare = bare || len[i] > 0;
        }
        if (bare) {
                for (size_t i = 0; i < n_parts; i++)
                        buffer_put(b, parts[i], len[i]);
                return;
        }
        buffer_put(b, "\"", 1);
        for (size_t i = 0; i < n_parts; i++)
                put_exec_escaped(b, parts[i]);
        buffer_put(b, "\"", 1);
}

void render_exec_word(Buffer *b, const char *s) {
        put_exec_word(b, &s, 1);
}

/* One Exec line: its words are quoted once, at emission, each as it is
 * added, and continued over several lines for "systemctl cat". */
typedef struct ExecLine {
        Buffer *b;
        size_t n; /* words so far */
} ExecLine;

static ExecLine exec_begin(Buffer *b, const char *setting, const char *prefix) {
        buffer_puts(b, setting);
        buffer_put(b, "=", 1);
        buffer_puts(b, prefix);
        return (ExecLine) { b, 0 };
}

static void exec_end(ExecLine *l) {
        buffer_put(l->b, "\n", 1);
}

/* Appends the concatenation of the given strings as one word. */
static void args_add_parts(ExecLine *l, const char *const *parts, size_t n_parts) {
        if (l->n > 0)
                buffer_puts(l->b, l->n == 1 ? " " : " \\\n        ");
        l->n++;
        put_exec_word(l->b, parts, n_parts);
}
#define args_add(l, ...) \
        args_add_parts((l), (const char *const[]) { __VA_ARGS__ }, \
                       sizeof((const char *const[]) { __VA_ARGS__ }) / sizeof(const char *))

static const char *u64_str(uint64_t v, char buf[static 21]) {
        char *p = buf + 20;
        *p = '\0';
        do
                *--p = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        return p;
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
static void args_add_joined(ExecLine *l, const char *option, char **words) {
        Buffer s = {};

        for (char **c = words; *c; c++)
                buffer_printf(&s, "%s%s", c == words ? "" : ",", *c);
        if (buffer_status(&s) == 0)
                args_add(l, option, s.data);
        else
                l->b->failed = true;
        buffer_done(&s);
}

/* What the image, the sandbox and the volumes are made of. */
static void add_config_options(ExecLine *l, const Agent *a) {
        char n1[21], n2[21], n3[21];

        args_add(l, "--name=", a->name);
        args_add(l, "--image=", a->image);
        if (a->image_digest)
                args_add(l, "--image-digest=", a->image_digest);
        for (char **p = a->image_allow; p && *p; p++)
                args_add(l, "--image-allow=", *p);
        if (!a->memory_deny_write_execute)
                args_add(l, "--memory-deny-write-execute=no");
        args_add(l, "--uid=", u64_str(a->user, n1));
        args_add(l, "--workspace-size=", u64_str(a->workspace_size, n2));
        args_add(l, "--tmp-size=", u64_str(a->tmp_size, n3));
        if (a->system_calls)
                args_add_joined(l, "--syscalls=", a->system_calls);
        for (size_t i = 0; i < a->n_secrets; i++)
                args_add(l, "--secret=", a->secrets[i].name, "=", a->secrets[i].source);
        if (a->shared_state)
                args_add(l, "--shared-state=", a->shared_state);
        /* egress: loopback only like none, and the proxy's listener on it. */
        args_add(l, "--network=", a->network == NETWORK_PRIVATE ? "private" : a->egress_allow ? "egress" : "none");
        if (a->cap_net_bind_service)
                args_add(l, "--keep-caps=CAP_NET_BIND_SERVICE");
}

/* How the agent is run and watched. */
static void add_run_options(ExecLine *l, const Agent *a) {
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
        ExecLine l = exec_begin(b, "ExecStart", "");

        args_add(&l, AGENT_RUNTIME_PATH);
        args_add(&l, "start");
        add_config_options(&l, a);
        add_run_options(&l, a);
        args_add(&l, "--");
        for (char **w = a->exec; *w; w++)
                args_add(&l, *w);
        exec_end(&l);
        return buffer_status(b);
}

static int emit_recycle(const Agent *a, Buffer *b) {
        ExecLine l = exec_begin(b, "ExecStopPost", "+");

        args_add(&l, AGENT_RUNTIME_PATH);
        args_add(&l, "recycle");
        args_add(&l, "--name=", a->name);
        exec_end(&l);
        return buffer_status(b);
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
                if (!credential_id_is_valid(id))
                        return -EINVAL;
                buffer_puts(b, access(path, F_OK) >= 0 ? "LoadCredentialEncrypted=" : "LoadCredential=");
                buffer_puts(b, id);
                buffer_puts(b, "\n");
        }
        return 0;
}

static int emit_network_sandbox(const Agent *a, Buffer *b) {
        if (a->network == NETWORK_NONE) {
                buffer_puts(b, "# Network=none: nspawn and the agent have loopback only.\n"
                               "PrivateNetwork=yes\n"
                               "IPAddressDeny=any\n");
                render_egress_unit(a, b);
        } else
                buffer_puts(b, "# Network=private: the agent's veth link is set up by nspawn.\n");
        return 0;
}

/* An Image= reference is pulled before the start by agentcage-pull@NAME
 * (agentctl pull, outside the agent's sandbox, which has no network): the
 * agent's unit itself only mounts what the read-only cache holds. */
static int emit_image_pull(const Agent *a, Buffer *b) {
        if (!image_ref_has_transport(a->image))
                return 0;
        buffer_printf(b, "# Image= is a reference: pulled, checked and cached first.\n"
                         "Requires=agentcage-pull@%s.service\n"
                         "After=agentcage-pull@%s.service\n", a->name, a->name);
        return 0;
}

static int emit_source_comment(const Agent *a, Buffer *b) {
        buffer_puts(b, "#   definition: ");
        render_comment_text(b, a->source_path);
        buffer_puts(b, "\n");
        for (char **d = a->dropin_paths; d && *d; d++) {
                buffer_puts(b, "#   drop-in:    ");
                render_comment_text(b, *d);
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
        { "IMAGE_PULL", emit_image_pull },
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
typedef enum InlinePlaceholder {
        PH_DESCRIPTION,
        PH_SOURCE_PATH,
        PH_NAME,
        PH_START_LIMIT_BURST,
        PH_RUNTIME_MAX_SEC,
        PH_RESTART,
        PH_RESTART_SEC,
        PH_MEMORY_MAX,
        PH_CPU_QUOTA,
        PH_TASKS_MAX,
        PH_SHARED_STATE_RW,
        _PH_MAX,
} InlinePlaceholder;

static const char *const inline_names[_PH_MAX] = {
        [PH_DESCRIPTION] = "DESCRIPTION",
        [PH_SOURCE_PATH] = "SOURCE_PATH",
        [PH_NAME] = "NAME",
        [PH_START_LIMIT_BURST] = "START_LIMIT_BURST",
        [PH_RUNTIME_MAX_SEC] = "RUNTIME_MAX_SEC",
        [PH_RESTART] = "RESTART",
        [PH_RESTART_SEC] = "RESTART_SEC",
        [PH_MEMORY_MAX] = "MEMORY_MAX",
        [PH_CPU_QUOTA] = "CPU_QUOTA",
        [PH_TASKS_MAX] = "TASKS_MAX",
        [PH_SHARED_STATE_RW] = "SHARED_STATE_RW",
};

static int emit_inline(const Agent *a, InlinePlaceholder ph, Buffer *b) {
        switch (ph) {
        case PH_DESCRIPTION:
                return render_unit_value(b, a->description);
        case PH_SOURCE_PATH:
                return render_unit_value(b, a->source_path);
        case PH_NAME:
                if (!agent_name_is_valid(a->name))
                        return -EINVAL;
                buffer_puts(b, a->name);
                return 0;
        case PH_START_LIMIT_BURST:
                put_u64(b, a->max_restarts + 1);
                return 0;
        case PH_RUNTIME_MAX_SEC:
                put_span(b, a->runtime_max_usec);
                return 0;
        case PH_RESTART:
                buffer_puts(b, restart_name(a->restart));
                return 0;
        case PH_RESTART_SEC:
                put_span(b, a->restart_usec);
                return 0;
        case PH_MEMORY_MAX:
                put_u64(b, a->memory_max);
                return 0;
        case PH_CPU_QUOTA:
                put_u64(b, a->cpu_quota_percent);
                buffer_put(b, "%", 1);
                return 0;
        case PH_TASKS_MAX:
                put_u64(b, a->tasks_max);
                return 0;
        case PH_SHARED_STATE_RW:
                emit_shared_state_rw(a, b);
                return 0;
        default:
                return -EINVAL;
        }
}

/* The template, cut once into pieces: literal text, line placeholders and
 * inline placeholders, so that rendering a unit does no scanning. */
typedef struct Piece {
        const char *text;
        size_t len;
        int line_ph;   /* index in line_placeholders, or -1 */
        int inline_ph; /* InlinePlaceholder, or -1 */
} Piece;

static Piece pieces[256];
static size_t n_pieces;

static int piece_add(const char *text, size_t len, int line_ph, int inline_ph) {
        if (n_pieces >= ELEMENTSOF(pieces))
                return -E2BIG;
        /* Adjacent text is one piece. */
        if (line_ph < 0 && inline_ph < 0 && n_pieces > 0 && pieces[n_pieces - 1].line_ph < 0 &&
            pieces[n_pieces - 1].inline_ph < 0 && pieces[n_pieces - 1].text + pieces[n_pieces - 1].len == text) {
                pieces[n_pieces - 1].len += len;
                return 0;
        }
        pieces[n_pieces++] = (Piece) { text, len, line_ph, inline_ph };
        return 0;
}

static int find_name(const char *const *names, size_t n_names, size_t stride, const char *s, size_t len) {
        for (size_t i = 0; i < n_names; i++) {
                const char *name = *(const char *const *) ((const char *) names + i * stride);
                if (strlen(name) == len && memcmp(name, s, len) == 0)
                        return (int) i;
        }
        return -1;
}

/* One ordinary line: text and @NAME@ placeholders. */
static int cut_line(const char *t, const char *eol) {
        for (const char *p = t; p < eol;) {
                const char *at = memchr(p, '@', (size_t) (eol - p));
                const char *end = at ? memchr(at + 1, '@', (size_t) (eol - at - 1)) : NULL;
                /* '@' also appears in unit names (modprobe@loop): a
                 * placeholder is upper case and '_' only. */
                size_t n = end ? (size_t) (end - at - 1) : 0;
                int ph;

                if (!at)
                        return piece_add(p, (size_t) (eol - p), -1, -1);
                if (!end || n == 0 || strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != n) {
                        if (piece_add(p, (size_t) (at - p) + 1, -1, -1) < 0)
                                return -E2BIG;
                        p = at + 1;
                        continue;
                }
                ph = find_name(inline_names, _PH_MAX, sizeof inline_names[0], at + 1, n);
                if (ph < 0 || piece_add(p, (size_t) (at - p), -1, -1) < 0 || piece_add(NULL, 0, -1, ph) < 0)
                        return -EINVAL;
                p = end + 1;
        }
        return 0;
}

static int cut_template(void) {
        for (const char *t = agent_service_template; *t;) {
                const char *eol = strchrnul(t, '\n');
                size_t len = (size_t) (eol - t);
                int r;

                /* A line that is exactly @NAME@ is a line placeholder. */
                if (len > 2 && t[0] == '@' && t[len - 1] == '@' && !memchr(t + 1, '@', len - 2)) {
                        int ph = find_name(&line_placeholders[0].name, ELEMENTSOF(line_placeholders),
                                           sizeof line_placeholders[0], t + 1, len - 2);
                        r = ph < 0 ? -EINVAL : piece_add(NULL, 0, ph, -1);
                } else {
                        r = cut_line(t, eol);
                        if (r >= 0)
                                r = piece_add(eol, *eol ? 1 : 0, -1, -1);
                        if (r >= 0 && !*eol)
                                r = piece_add("\n", 1, -1, -1);
                }
                if (r < 0)
                        return r;
                t = *eol ? eol + 1 : eol;
        }
        return 0;
}

int render_unit(const Agent *a, Buffer *b) {
        static int cut; /* 0: not yet, 1: done, <0: the template is broken */

        if (cut == 0)
                cut = cut_template() < 0 ? -EINVAL : 1;
        if (cut < 0)
                return cut;
        for (size_t i = 0; i < n_pieces; i++) {
                const Piece *p = &pieces[i];
                int r = 0;

                if (p->line_ph >= 0)
                        r = line_placeholders[p->line_ph].emit(a, b);
                else if (p->inline_ph >= 0)
                        r = emit_inline(a, (InlinePlaceholder) p->inline_ph, b);
                else
                        buffer_put(b, p->text, p->len);
                if (r < 0)
                        return r;
        }
        return buffer_status(b);
}
