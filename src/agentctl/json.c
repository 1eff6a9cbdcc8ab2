/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-util.h"
#include "json.h"

/* Length of the valid UTF-8 sequence at s, or 0 if there is none. */
static size_t utf8_valid_len(const unsigned char *s) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values beyond Unicode are not text. */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return n;
}

char *utf8_sanitize(const char *s) {
        static const char replacement[] = "\xef\xbf\xbd";
        const unsigned char *p = (const unsigned char *) s;
        size_t len = strlen(s);
        char *out, *q;

        /* At most three bytes out for every byte in. */
        if (len > (SIZE_MAX - 1) / 3)
                return NULL;
        out = q = malloc(len * 3 + 1);
        if (!out)
                return NULL;
        while (*p) {
                size_t n = utf8_valid_len(p);
                if (n == 0) {
                        memcpy(q, replacement, 3);
                        q += 3;
                        p++;
                        continue;
                }
                memcpy(q, p, n);
                q += n;
                p += n;
        }
        *q = '\0';
        return out;
}

int json_new_str(const char *s, struct json_object **ret) {
        _cleanup_free_ char *clean = NULL;

        if (!s) {
                *ret = NULL;
                return 0;
        }
        clean = utf8_sanitize(s);
        if (!clean)
                return -ENOMEM;
        *ret = json_object_new_string(clean);
        return *ret ? 0 : -ENOMEM;
}

int json_new_u64(uint64_t v, struct json_object **ret) {
        if (v == CTL_UNSET) {
                *ret = NULL;
                return 0;
        }
        *ret = json_object_new_uint64(v);
        return *ret ? 0 : -ENOMEM;
}

int json_new_object(struct json_object **ret) {
        *ret = json_object_new_object();
        return *ret ? 0 : -ENOMEM;
}

int json_new_array(struct json_object **ret) {
        *ret = json_object_new_array();
        return *ret ? 0 : -ENOMEM;
}

int json_set(struct json_object *o, const char *key, struct json_object *v) {
        if (json_object_object_add(o, key, v) < 0) {
                json_object_putp(&v);
                return -ENOMEM;
        }
        return 0;
}

int json_set_str(struct json_object *o, const char *key, const char *s) {
        struct json_object *v;
        int r = json_new_str(s, &v);

        return r < 0 ? r : json_set(o, key, v);
}

int json_set_u64(struct json_object *o, const char *key, uint64_t v) {
        struct json_object *j;
        int r = json_new_u64(v, &j);

        return r < 0 ? r : json_set(o, key, j);
}

int json_set_bool(struct json_object *o, const char *key, bool b) {
        struct json_object *v = json_object_new_boolean(b);

        return v ? json_set(o, key, v) : -ENOMEM;
}

int json_append(struct json_object *a, struct json_object *v) {
        if (json_object_array_add(a, v) < 0) {
                json_object_putp(&v);
                return -ENOMEM;
        }
        return 0;
}

int json_set_strv(struct json_object *o, const char *key, char *const *v, size_t n) {
        struct json_object *a, *s;
        int r;

        r = json_new_array(&a);
        if (r < 0)
                return r;
        for (size_t i = 0; v && i < n; i++) {
                r = json_new_str(v[i], &s);
                if (r >= 0)
                        r = json_append(a, s);
                if (r < 0) {
                        json_object_putp(&a);
                        return r;
                }
        }
        return json_set(o, key, a);
}

int json_print(FILE *f, struct json_object *o) {
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!text)
                return -ENOMEM;
        if (fputs(text, f) < 0 || fputc('\n', f) < 0)
                return -EIO;
        return 0;
}
