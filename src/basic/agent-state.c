/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-state.h"
#include "buffer.h"
#include "fs-util.h"
#include "log.h"
#include "macro.h"
#include "parse-value.h"

/* $VAR if it is a plain absolute path, else DEF (with a warning if set). */
static const char *root_from_env(const char *var, const char *def) {
        const char *e = getenv(var);

        if (!e || !*e)
                return def;
        if (!path_is_normalized_absolute(e) || strlen(e) > 512) {
                log_warning("Ignoring %s=%s: not a plain absolute path.", var, e);
                return def;
        }
        return e;
}

const char *agent_state_root(void) {
        return root_from_env("AGENTCAGE_RUNTIME_DIR", AGENT_STATE_ROOT);
}

const char *agent_lease_root(void) {
        return root_from_env("AGENTCAGE_STATE_DIR", AGENT_LEASE_ROOT);
}

int agent_state_path(const char *name, const char *entry, char **ret) {
        int n;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        if (entry)
                n = asprintf(ret, "%s/%s/%s", agent_state_root(), name, entry);
        else
                n = asprintf(ret, "%s/%s", agent_state_root(), name);
        return n < 0 ? -ENOMEM : 0;
}

static const char *const apparmor_modes[_APPARMOR_MODE_MAX] = {
        [APPARMOR_REQUIRED] = "required",
        [APPARMOR_OPTIONAL] = "optional",
};

const char *apparmor_mode_to_string(AppArmorMode m) {
        return m >= 0 && m < _APPARMOR_MODE_MAX ? apparmor_modes[m] : NULL;
}

int apparmor_mode_from_string(const char *s, AppArmorMode *ret) {
        for (int m = 0; m < _APPARMOR_MODE_MAX; m++)
                if (streq(s, apparmor_modes[m])) {
                        *ret = (AppArmorMode) m;
                        return 0;
                }
        return -EINVAL;
}

void agent_state_info_done(AgentStateInfo *i) {
        free(i->image);
        free(i->image_digest);
        strv_free(i->image_exceptions);
        *i = (AgentStateInfo) {};
}

/* One line each; a word of a space-separated list may not hold a space
 * either. */
static bool value_is_safe(const char *s) {
        return s && *s && string_is_printable_utf8(s, false);
}

static bool word_is_safe(const char *s) {
        return value_is_safe(s) && !strchr(s, ' ');
}

int agent_state_info_format(const AgentStateInfo *i, char **ret) {
        _cleanup_(buffer_done) Buffer b = {};
        const char *aa = apparmor_mode_to_string(i->apparmor);

        if (!aa || !value_is_safe(i->image) || (i->image_digest && !value_is_safe(i->image_digest)))
                return -EINVAL;
        buffer_printf(&b, "STARTED_USEC=%" PRIu64 "\n", i->started_usec);
        buffer_printf(&b, "ORPHAN_TIMEOUT_USEC=%" PRIu64 "\n", i->orphan_timeout_usec);
        buffer_printf(&b, "USERNS_BASE=%" PRIu32 "\n", i->userns_base);
        buffer_printf(&b, "APPARMOR=%s\n", aa);
        buffer_printf(&b, "IMAGE=%s\n", i->image);
        if (i->image_digest)
                buffer_printf(&b, "IMAGE_DIGEST=%s\n", i->image_digest);
        if (i->image_exceptions && i->image_exceptions[0]) {
                buffer_puts(&b, "IMAGE_EXCEPTIONS=");
                for (char **p = i->image_exceptions; *p; p++) {
                        if (!word_is_safe(*p))
                                return -EINVAL;
                        buffer_printf(&b, "%s%s", p == i->image_exceptions ? "" : " ", *p);
                }
                buffer_puts(&b, "\n");
        }
        buffer_put(&b, "", 1);
        if (buffer_status(&b) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(b.data);
        return 0;
}

static int parse_u64_field(const char *v, uint64_t max, uint64_t *ret) {
        return parse_uint64_range(v, 0, max, ret) < 0 ? -EBADMSG : 0;
}

static int info_set(AgentStateInfo *i, unsigned *seen, const char *key, const char *v) {
        static const char *const keys[] = { "STARTED_USEC", "ORPHAN_TIMEOUT_USEC", "USERNS_BASE",
                                            "APPARMOR", "IMAGE", "IMAGE_DIGEST", "IMAGE_EXCEPTIONS" };
        uint64_t u;
        size_t k;

        for (k = 0; k < ELEMENTSOF(keys); k++)
                if (streq(key, keys[k]))
                        break;
        if (k == ELEMENTSOF(keys) || (*seen & (1U << k)))
                return -EBADMSG;
        *seen |= 1U << k;

        switch (k) {
        case 0: return parse_u64_field(v, UINT64_MAX, &i->started_usec);
        case 1: return parse_u64_field(v, UINT64_MAX, &i->orphan_timeout_usec);
        case 2:
                if (parse_u64_field(v, UINT32_MAX, &u) < 0)
                        return -EBADMSG;
                i->userns_base = (uint32_t) u;
                return 0;
        case 3: return apparmor_mode_from_string(v, &i->apparmor) < 0 ? -EBADMSG : 0;
        case 4:
        case 5:
                if (!value_is_safe(v))
                        return -EBADMSG;
                return (*(k == 4 ? &i->image : &i->image_digest) = strdup(v)) ? 0 : -ENOMEM;
        default: {
                int r = split_words(v, 1024, &i->image_exceptions, NULL);
                return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
        }
        }
}

int agent_state_info_parse(const char *text, size_t len, AgentStateInfo *ret) {
        _cleanup_(agent_state_info_done) AgentStateInfo i = {};
        _cleanup_free_ char *copy = NULL;
        unsigned seen = 0;
        char *line, *save = NULL;
        int r;

        if (len > AGENT_STATE_INFO_MAX || memchr(text, '\0', len) || (len > 0 && text[len - 1] != '\n'))
                return -EBADMSG;
        copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq || eq == line)
                        return -EBADMSG;
                *eq = '\0';
                r = info_set(&i, &seen, line, eq + 1);
                if (r < 0)
                        return r;
        }
        /* STARTED, ORPHAN_TIMEOUT, USERNS_BASE, APPARMOR and IMAGE are required. */
        if ((seen & 0x1f) != 0x1f)
                return -EBADMSG;
        *ret = i;
        i = (AgentStateInfo) {};
        return 0;
}

int agent_state_info_write(const char *name, const AgentStateInfo *info) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        int r;

        r = agent_state_path(name, NULL, &dir);
        if (r < 0)
                return r;
        r = agent_state_info_format(info, &text);
        if (r < 0)
                return r;
        return write_file_atomic(dir, AGENT_STATE_INFO, text, strlen(text), 0644);
}

int agent_state_info_read(const char *name, AgentStateInfo *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        r = agent_state_path(name, AGENT_STATE_INFO, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(AT_FDCWD, path, AGENT_STATE_INFO_MAX, &text, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        return agent_state_info_parse(text, len, ret);
}

static bool path_is_at_or_below(const char *path, const char *dir) {
        size_t n = strlen(dir);
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int shared_state_path_check(const char *path, const char **ret_why) {
        static const char *const image_stores[] = { "/var/lib/agents/images", "/var/lib/machines" };
        const char *why = NULL;

        if (!path_is_normalized_absolute(path) ||
            strncmp(path, AGENT_SHARED_STATE_PREFIX, strlen(AGENT_SHARED_STATE_PREFIX)) != 0 ||
            strlen(path) == strlen(AGENT_SHARED_STATE_PREFIX))
                why = "must be a normalised absolute path below " AGENT_SHARED_STATE_PREFIX;
        else if (strpbrk(path, ":,"))
                why = "':' and ',' are not allowed in the path";
        else
                for (size_t i = 0; i < ELEMENTSOF(image_stores); i++)
                        if (path_is_at_or_below(path, image_stores[i]))
                                why = "the image store cannot be shared read-write";
        if (!why)
                return 0;
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
}
