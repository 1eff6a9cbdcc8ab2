/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* YAML over a json-c tree. Every string, keys included, is written as a
 * double-quoted scalar with JSON-compatible escapes, so no value can turn into
 * a number, a boolean, null, an anchor, a tag, a comment or a second key,
 * whatever it holds: what the YAML says is exactly what the JSON says. */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "export.h"

/* Decodes one UTF-8 sequence at s (strict: no overlongs, no surrogates,
 * nothing above U+10FFFF). Returns its length, or 0 if it is invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret) {
        uint32_t c;
        size_t n;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, c = s[0] & 0x07;
        else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        *ret = c;
        return n;
}

static bool utf8_is_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                uint32_t c;
                size_t n = utf8_decode(p, &c);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

int export_tree_check_utf8(json_object *o) {
        int r;

        switch (json_object_get_type(o)) {
        case json_type_string:
                return utf8_is_valid(json_object_get_string(o)) ? 0 : -EILSEQ;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        r = export_tree_check_utf8(json_object_array_get_idx(o, i));
                        if (r < 0)
                                return r;
                }
                return 0;
        case json_type_object: {
                json_object_object_foreach(o, key, val) {
                        if (!utf8_is_valid(key))
                                return -EILSEQ;
                        r = export_tree_check_utf8(val);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        default:
                return 0;
        }
}

/* Characters a YAML stream may not carry raw, or that YAML 1.1 reads as line
 * breaks inside a quoted scalar (NEL, LS, PS), or a BOM. */
static bool yaml_needs_escape(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
               c == 0xfeff || c == 0xfffe || c == 0xffff;
}

int yaml_quote(Buffer *b, const char *s) {
        buffer_put(b, "\"", 1);
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                uint32_t c;
                size_t n = utf8_decode(p, &c);

                if (n == 0)
                        return -EILSEQ;
                if (c == '"')
                        buffer_puts(b, "\\\"");
                else if (c == '\\')
                        buffer_puts(b, "\\\\");
                else if (c == '\n')
                        buffer_puts(b, "\\n");
                else if (c == '\t')
                        buffer_puts(b, "\\t");
                else if (c == '\r')
                        buffer_puts(b, "\\r");
                else if (yaml_needs_escape(c))
                        buffer_printf(b, "\\u%04" PRIX32, c);
                else
                        buffer_put(b, (const char *) p, n);
                p += n;
        }
        buffer_put(b, "\"", 1);
        return buffer_status(b);
}

static void indent(Buffer *b, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                buffer_put(b, " ", 1);
}

static bool is_collection(json_object *o) {
        json_type t = json_object_get_type(o);
        return (t == json_type_object && json_object_object_length(o) > 0) ||
               (t == json_type_array && json_object_array_length(o) > 0);
}

/* A scalar, or an empty collection in flow style. */
static int write_scalar(Buffer *b, json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                buffer_puts(b, "null");
                return 0;
        case json_type_boolean:
                buffer_puts(b, json_object_get_boolean(o) ? "true" : "false");
                return 0;
        case json_type_int:
                buffer_printf(b, "%" PRId64, json_object_get_int64(o));
                return 0;
        case json_type_string:
                return yaml_quote(b, json_object_get_string(o));
        case json_type_object:
                buffer_puts(b, "{}");
                return 0;
        case json_type_array:
                buffer_puts(b, "[]");
                return 0;
        case json_type_double: /* never emitted: quantities are strings */
        default:
                return -EINVAL;
        }
}

static int write_node(Buffer *b, json_object *o, unsigned col, bool inline_first);

/* A block mapping whose keys start at column col; with inline_first the
 * first key follows a "- " already written. */
static int write_mapping(Buffer *b, json_object *o, unsigned col, bool inline_first) {
        bool first = true;
        int r;

        json_object_object_foreach(o, key, val) {
                if (!(first && inline_first))
                        indent(b, col);
                first = false;
                r = yaml_quote(b, key);
                if (r < 0)
                        return r;
                buffer_put(b, ":", 1);
                if (is_collection(val)) {
                        buffer_put(b, "\n", 1);
                        r = write_node(b, val, col + 2, false);
                } else {
                        buffer_put(b, " ", 1);
                        r = write_scalar(b, val);
                        buffer_put(b, "\n", 1);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_sequence(Buffer *b, json_object *o, unsigned col) {
        int r;

        for (size_t i = 0; i < json_object_array_length(o); i++) {
                json_object *item = json_object_array_get_idx(o, i);

                indent(b, col);
                if (json_object_get_type(item) == json_type_object && is_collection(item)) {
                        buffer_puts(b, "- ");
                        r = write_mapping(b, item, col + 2, true);
                } else if (is_collection(item)) {
                        buffer_puts(b, "-\n");
                        r = write_sequence(b, item, col + 2);
                } else {
                        buffer_puts(b, "- ");
                        r = write_scalar(b, item);
                        buffer_put(b, "\n", 1);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_node(Buffer *b, json_object *o, unsigned col, bool inline_first) {
        if (json_object_get_type(o) == json_type_object)
                return write_mapping(b, o, col, inline_first);
        return write_sequence(b, o, col);
}

int yaml_write_document(Buffer *b, json_object *o) {
        int r;

        buffer_puts(b, "---\n");
        if (!is_collection(o)) {
                r = write_scalar(b, o);
                buffer_put(b, "\n", 1);
        } else
                r = write_node(b, o, 0, false);
        if (r < 0)
                return r;
        return buffer_status(b);
}
