/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The unit's own seccomp filters are inherited by systemd-nspawn and the
 * agent and stack with the agent's filter, so the agent's floor is the
 * intersection. This holds the unit template to "the unit denies only what
 * the agent's policy denies anyway, with the same EPERM":
 *   - no directive that denies more or answers differently (SIGSYS, another
 *     errno) is set at all;
 *   - SystemCallErrorNumber=EPERM, and every syscall of the agent's
 *     allow-list is in the unit's SystemCallFilter= (expanded by the real
 *     systemd-analyze syscall-filter);
 *   - RestrictAddressFamilies= holds every family the agent may create.
 *
 * Usage: test-seccomp-unit TEMPLATE SYSTEMD-ANALYZE */

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "policy.h"
#include "tap.h"

#define NAMES_MAX 2048

typedef struct Names {
        char *v[NAMES_MAX];
        size_t n;
} Names;

static bool names_has(const Names *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->v[i], name))
                        return true;
        return false;
}

static void names_add(Names *s, const char *name) {
        if (s->n < NAMES_MAX && !names_has(s, name))
                s->v[s->n++] = strdup(name);
}

static void names_del(Names *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->v[i], name)) {
                        free(s->v[i]);
                        s->v[i] = s->v[--s->n];
                        return;
                }
}

/* The groups systemd-analyze knows, "@name" lines then indented members. */
static char groups_text[1 << 20];

static void expand(const char *item, Names *out, int depth, bool add) {
        char head[128];
        const char *p;

        if (item[0] != '@') {
                if (add)
                        names_add(out, item);
                else
                        names_del(out, item);
                return;
        }
        if (depth > 8)
                return;
        snprintf(head, sizeof head, "\n%s\n", item);
        p = strstr(groups_text, head);
        if (!p)
                return;
        p += strlen(head);
        while (*p == ' ' || *p == '#') {
                char word[128];
                const char *e = strchr(p, '\n');
                size_t len = e ? (size_t) (e - p) : strlen(p);
                const char *w = p;

                while (*w == ' ')
                        w++;
                if (*w != '#' && len < sizeof word) {
                        size_t wl = len - (size_t) (w - p);
                        memcpy(word, w, wl);
                        word[wl] = '\0';
                        if (word[0])
                                expand(word, out, depth + 1, add);
                }
                if (!e)
                        break;
                p = e + 1;
        }
}

static int load_groups(const char *analyze) {
        char cmd[1024];
        FILE *f;
        size_t n;

        snprintf(cmd, sizeof cmd, "'%s' syscall-filter --no-pager 2>/dev/null", analyze);
        f = popen(cmd, "r");
        if (!f)
                return -errno;
        groups_text[0] = '\n';
        n = fread(groups_text + 1, 1, sizeof groups_text - 2, f);
        groups_text[n + 1] = '\0';
        return pclose(f) == 0 && n > 0 ? 0 : -EIO;
}

int main(int argc, char *argv[]) {
        static const char *const forbidden[] = {
                "MemoryDenyWriteExecute=", "LockPersonality=", "SystemCallArchitectures=", "RestrictSUIDSGID=",
                "SystemCallLog=", "RestrictFileSystems=", "ProtectHostname=",
        };
        static const char *const families[] = { "AF_UNIX", "AF_INET", "AF_INET6" };
        static const char *const init_needs[] = {
                "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "seccomp", "capset",
                "setresuid", "setresgid", "setgroups", "prctl", "statx",
        };
        Names unit = {};
        char line[4096];
        bool errno_eperm = false, have_filter = false, found[ELEMENTSOF(forbidden)] = {};
        const char *name;
        FILE *f;
        int filtered;

        if (argc != 3) {
                printf("Bail out! usage: test-seccomp-unit TEMPLATE SYSTEMD-ANALYZE\n");
                return 1;
        }
        if (load_groups(argv[2]) < 0) {
                printf("Bail out! %s syscall-filter failed\n", argv[2]);
                return 1;
        }
        f = fopen(argv[1], "re");
        if (!f) {
                printf("Bail out! cannot open %s\n", argv[1]);
                return 1;
        }
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                        if (strncmp(line, forbidden[i], strlen(forbidden[i])) == 0)
                                found[i] = true;
                if (streq(line, "SystemCallErrorNumber=EPERM"))
                        errno_eperm = true;
                if (strncmp(line, "RestrictAddressFamilies=", 24) == 0) {
                        char padded[4200];
                        snprintf(padded, sizeof padded, " %s ", line + 24);
                        CHECK_MSG(line[24] != '~', "RestrictAddressFamilies= is an allow-list");
                        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                                char w[32];
                                snprintf(w, sizeof w, " %s ", families[i]);
                                CHECK_MSG(strstr(padded, w), "RestrictAddressFamilies= allows %s, as the agent's policy does",
                                          families[i]);
                        }
                }
                if (strncmp(line, "SystemCallFilter=", 17) == 0) {
                        bool deny = line[17] == '~';
                        char *save = NULL;
                        have_filter = true;
                        for (char *w = strtok_r(line + 17 + deny, " ", &save); w; w = strtok_r(NULL, " ", &save))
                                expand(w, &unit, 0, !deny);
                }
        }
        fclose(f);

        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                CHECK_MSG(!found[i], "the unit does not set %s (it would change the agent's floor)", forbidden[i]);
        CHECK_MSG(errno_eperm, "SystemCallErrorNumber=EPERM: what the unit denies fails like the agent's policy, not SIGSYS");
        CHECK_MSG(have_filter && unit.n > 100, "the unit's SystemCallFilter= expands to %zu syscalls", unit.n);
        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, &filtered)); i++) {
                if (seccomp_syscall_resolve_name(name) < 0)
                        continue; /* not on this architecture */
                CHECK_MSG(names_has(&unit, name), "%s(), allowed to the agent, is allowed by the unit's filter", name);
        }
        /* What agent-init needs beyond the agent's allow-list. */
        for (size_t i = 0; i < ELEMENTSOF(init_needs); i++)
                CHECK_MSG(names_has(&unit, init_needs[i]), "%s(), which agent-init needs, is allowed by the unit's filter",
                          init_needs[i]);
        for (size_t i = 0; i < unit.n; i++)
                free(unit.v[i]);
        return tap_finish();
}
