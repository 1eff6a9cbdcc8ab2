/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl's JSON writer: hostile strings (quotes, backslashes, control
 * bytes, invalid UTF-8) come out as valid JSON that parses back to what was
 * meant; null for NULL and CTL_UNSET. */

#include <stdlib.h>
#include <string.h>

#include "ctl-util.h"
#include "json.h"
#include "parse-value.h"
#include "tap.h"

/* What json_print writes for {"s": s}. */
static char *print_one(const char *s) {
        _cleanup_json_ struct json_object *o = NULL;
        char *out = NULL;
        size_t n = 0;
        FILE *f;

        if (json_new_object(&o) < 0 || json_set_str(o, "s", s) < 0)
                return NULL;
        f = open_memstream(&out, &n);
        if (!f)
                return NULL;
        if (json_print(f, o) < 0) {
                fclose(f);
                free(out);
                return NULL;
        }
        fclose(f);
        return out;
}

/* True if text is valid UTF-8 without raw control bytes below 0x20 (a
 * newline at the end excepted): what any JSON parser accepts. */
static bool clean_output(const char *text) {
        size_t n = strlen(text);
        char *sane = utf8_sanitize(text);
        bool ok = sane && streq(sane, text);

        for (size_t i = 0; ok && i + 1 < n; i++)
                ok = (unsigned char) text[i] >= 0x20;
        free(sane);
        return ok && n > 0 && text[n - 1] == '\n';
}

/* Parses text (UTF-8 validated) and returns o["s"] (NULL for null), or
 * "<parse error>". Not JSON_TOKENER_STRICT: json-c 0.18 (Debian 13) refuses
 * every byte above 0x7f in strict mode, valid UTF-8 included. */
static char *parse_back(const char *text) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o, *v;
        char *ret;

        json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, text, (int) strlen(text));
        if (!o || json_tokener_get_error(tok) != json_tokener_success || !json_object_object_get_ex(o, "s", &v)) {
                json_tokener_free(tok);
                json_object_put(o);
                return strdup("<parse error>");
        }
        ret = v ? strdup(json_object_get_string(v)) : NULL;
        json_object_put(o);
        json_tokener_free(tok);
        return ret;
}

static void check_string(const char *in, const char *expected) {
        static unsigned n;
        char *out = print_one(in), *back;

        CHECK_MSG(out && clean_output(out), "output of string %u is clean UTF-8 without control bytes", ++n);
        back = out ? parse_back(out) : NULL;
        CHECK_STREQ(back, expected);
        free(out);
        free(back);
}

static void test_strings(void) {
        check_string("plain", "plain");
        check_string("q\"b\\n\nt\tc\x01 d\x7f\x1b[31m", "q\"b\\n\nt\tc\x01 d\x7f\x1b[31m");
        check_string("caf\xc3\xa9 \xf0\x9f\x90\x88", "caf\xc3\xa9 \xf0\x9f\x90\x88");
        check_string("/run/agentcage/web", "/run/agentcage/web");
        /* Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate,
         * a truncated sequence at the end, a byte that never starts one. */
        check_string("a\x80" "b\xc0\xaf", "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
        check_string("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        check_string("x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd");
        check_string("\xff", "\xef\xbf\xbd");
        /* A task text that tries to close the object and add a field. */
        check_string("t\",\"valid\":true,\"x\":\"", "t\",\"valid\":true,\"x\":\"");

        char *out = print_one("q\"\x01");
        CHECK(out && strstr(out, "\\\"") && strstr(out, "\\u0001"));
        free(out);
        out = print_one("/a/b");
        CHECK(out && strstr(out, "\"/a/b\"")); /* no \/ */
        free(out);
}

static void test_nulls(void) {
        _cleanup_json_ struct json_object *o = NULL, *a = NULL;
        char *const v[] = { (char *) "a\x80", (char *) "b", NULL };

        CHECK(json_new_object(&o) == 0);
        CHECK(json_set_str(o, "s", NULL) == 0);
        CHECK(json_set_u64(o, "unset", CTL_UNSET) == 0);
        CHECK(json_set_u64(o, "big", UINT64_MAX - 1) == 0);
        CHECK(json_set_u64(o, "zero", 0) == 0);
        CHECK(json_set_bool(o, "t", true) == 0);
        CHECK(json_set_strv(o, "v", v, 2) == 0);
        CHECK(json_set_strv(o, "none", NULL, 0) == 0);
        CHECK(json_set(o, "n", NULL) == 0);
        CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                    "{\"s\":null,\"unset\":null,\"big\":18446744073709551614,\"zero\":0,\"t\":true,"
                    "\"v\":[\"a\xef\xbf\xbd\",\"b\"],\"none\":[],\"n\":null}");
        /* A key set twice keeps the last value (status replaces list's "definition"). */
        CHECK(json_set_str(o, "s", "x") == 0);
        CHECK_STREQ(json_object_get_string(json_object_object_get(o, "s")), "x");
        CHECK(json_new_array(&a) == 0 && json_append(a, NULL) == 0 && json_object_array_length(a) == 1);
}

static void test_sanitize(void) {
        char *s = utf8_sanitize("");
        CHECK_STREQ(s, "");
        free(s);
        s = utf8_sanitize("\xf4\x90\x80\x80"); /* beyond U+10FFFF */
        CHECK(s && strncmp(s, "\xef\xbf\xbd", 3) == 0 && string_is_printable_utf8(s, false));
        free(s);
}

int main(void) {
        test_strings();
        test_nulls();
        test_sanitize();
        return tap_finish();
}
