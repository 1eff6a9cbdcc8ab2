/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The proxy's request parser: what it accepts, and for each refusal which
 * rule fired. */
#include <errno.h>
#include <string.h>

#include "http-request.h"
#include "tap.h"

typedef struct Case {
        const char *head;
        int expect;        /* 0, -EAGAIN, -EBADMSG, -E2BIG */
        const char *rule;  /* the refusal's rule (substring), or on success "METHOD host port" */
} Case;

static const Case cases[] = {
        { "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n", 0, "CONNECT api.example.com 443" },
        { "CONNECT API.Example.COM:443 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 0, "CONNECT api.example.com 443" },
        { "GET http://a.example.com/x?y HTTP/1.1\r\nHost: a.example.com\r\nUser-Agent: t\r\n\r\n", 0, "GET a.example.com 80" },
        { "GET http://a.example.com:8080 HTTP/1.1\r\nHost: a.example.com:8080\r\n\r\n", 0, "GET a.example.com 8080" },
        { "HEAD http://a.example.com/ HTTP/1.0\r\n\r\n", 0, "HEAD a.example.com 80" },
        { "POST http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 5\r\n\r\nhello", 0, "POST a.example.com 80" },
        { "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", 0, "CONNECT [::1] 443" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n", -EAGAIN, NULL },
        { "GET http://a.exa", -EAGAIN, NULL },
        /* line endings and bytes */
        { "GET http://a.example.com/ HTTP/1.1\nHost: a.example.com\r\n\r\n", -EBADMSG, "bare LF" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\n\r\n", -EBADMSG, "bare LF" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\rX\r\n\r\n", -EBADMSG, "bare CR" },
        { "GET http://a.example.com/ HTTP/1.1\r\nX: a\0b\r\n\r\n", -EBADMSG, "NUL" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nX: a\r\n b\r\n\r\n", -EBADMSG, "obs-fold" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nX: a\x01\r\n\r\n", -EBADMSG, "control character in a header" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost : a.example.com\r\n\r\n", -EBADMSG, "not a token" },
        { "GET http://a.example.com/ HTTP/1.1\r\nNoColon\r\n\r\n", -EBADMSG, "without ':'" },
        /* request line */
        { "G(T http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "method is not a token" },
        { "GET  http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "METHOD SP TARGET SP VERSION" },
        { "GET http://a.example.com/ HTTP/1.1 \r\nHost: a.example.com\r\n\r\n", -EBADMSG, "extra space" },
        { "GET http://a.example.com/ HTTP/2.0\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "version" },
        { "GET /x HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "absolute-form" },
        { "GET https://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "use CONNECT" },
        { "GET http://u:p@a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "userinfo" },
        { "GET http://a.example.com/#f HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "fragment" },
        { "GET http://a.example.com:0/ HTTP/1.1\r\nHost: a.example.com:0\r\n\r\n", -EBADMSG, "port out of range" },
        { "GET http://a.example.com:65536/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "port out of range" },
        { "GET http://a.example.com:08/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "no leading zeros" },
        { "GET http://a_b.example.com/ HTTP/1.1\r\nHost: a_b.example.com\r\n\r\n", -EBADMSG, "invalid character in the host" },
        { "CONNECT api.example.com HTTP/1.1\r\nHost: api.example.com\r\n\r\n", -EBADMSG, "without a port" },
        { "CONNECT a.example.com:443:1 HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "more than one ':'" },
        /* Host and body framing */
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "duplicate Host" },
        { "GET http://a.example.com/ HTTP/1.1\r\nHost: b.example.com\r\n\r\n", -EBADMSG, "differs from the target" },
        /* a CONNECT's Host is not used: Node's http.request names the proxy there */
        { "CONNECT a.example.com:443 HTTP/1.1\r\nHost: 127.0.0.1:3128\r\nConnection: close\r\n\r\n", 0, "CONNECT a.example.com 443" },
        { "CONNECT a.example.com:443 HTTP/1.1\r\nHost: b.example.com:443\r\n\r\n", 0, "CONNECT a.example.com 443" },
        { "CONNECT a.example.com:443 HTTP/1.1\r\nHost: b_c.example.com\r\n\r\n", -EBADMSG, "invalid Host" },
        { "CONNECT a.example.com:443 HTTP/1.1\r\nHost: a.example.com:443\r\nHost: a.example.com:443\r\n\r\n", -EBADMSG, "duplicate Host" },
        { "GET http://a.example.com:8080/ HTTP/1.1\r\nHost: a.example.com\r\n\r\n", -EBADMSG, "differs from the target" },
        { "GET http://a.example.com/ HTTP/1.1\r\n\r\n", -EBADMSG, "without Host" },
        { "POST http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", -EBADMSG, "duplicate Content-Length" },
        { "POST http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: -1\r\n\r\n", -EBADMSG, "invalid Content-Length" },
        { "POST http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\nTransfer-Encoding: chunked\r\n\r\n", -EBADMSG, "Transfer-Encoding" },
        { "CONNECT a.example.com:443 HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 3\r\n\r\n", -EBADMSG, "CONNECT with a body" },
};

static void test_table(void) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const Case *c = &cases[i];
                size_t len = strlen(c->head);
                HttpRequest req;
                const char *rule = NULL;

                if (strstr(c->rule ? c->rule : "", "NUL"))
                        len = strlen(c->head) + 1 + strlen(c->head + strlen(c->head) + 1); /* past the NUL */
                int r = http_request_parse(c->head, len, &req, &rule);
                CHECK_MSG(r == c->expect, "case %zu: returns %d (expected %d)%s%s", i, r, c->expect,
                          rule ? ": " : "", rule ? rule : "");
                if (r == 0) {
                        char got[400];
                        snprintf(got, sizeof got, "%s %s %u", req.method, req.host, (unsigned) req.port);
                        CHECK_MSG(strcmp(got, c->rule) == 0, "case %zu: parsed '%s' (expected '%s')", i, got, c->rule);
                } else if (c->rule)
                        CHECK_MSG(rule && strstr(rule, c->rule), "case %zu: rule '%s' names '%s'", i,
                                  rule ? rule : "(none)", c->rule);
        }
}

static void test_limits(void) {
        static char big[2 * HTTP_HEAD_MAX];
        HttpRequest req;
        const char *rule = NULL;

        /* one line over the limit, even without its CRLF yet */
        memset(big, 'a', sizeof big);
        memcpy(big, "GET http://a.example.com/", 25);
        CHECK(http_request_parse(big, HTTP_LINE_MAX + 10, &req, &rule) == -E2BIG);
        CHECK(rule && strstr(rule, "line longer"));

        /* 101 headers */
        size_t n = (size_t) snprintf(big, sizeof big, "GET http://a.example.com/ HTTP/1.1\r\nHost: a.example.com\r\n");
        for (int i = 0; i < 100; i++)
                n += (size_t) snprintf(big + n, sizeof big - n, "X-%d: y\r\n", i);
        n += (size_t) snprintf(big + n, sizeof big - n, "\r\n");
        rule = NULL;
        CHECK(http_request_parse(big, n, &req, &rule) == -E2BIG);
        CHECK(rule && strstr(rule, "more than 100"));

        /* a head that never ends within 32 KiB */
        n = (size_t) snprintf(big, sizeof big, "GET http://a.example.com/ HTTP/1.1\r\n");
        while (n < HTTP_HEAD_MAX + 500)
                n += (size_t) snprintf(big + n, sizeof big - n, "X-Padding: %01000d\r\n", 0);
        rule = NULL;
        CHECK(http_request_parse(big, n, &req, &rule) == -E2BIG);
        CHECK(rule && strstr(rule, "larger than 32768"));

        /* the body after the head is not part of it */
        const char *h = "POST http://a.example.com/p HTTP/1.1\r\nHost: a.example.com\r\nContent-Length: 5\r\n\r\nhello";
        CHECK(http_request_parse(h, strlen(h), &req, &rule) == 0);
        CHECK(req.head_len == strlen(h) - 5);
        CHECK(req.content_length == 5);
        CHECK(req.path.len == 2 && memcmp(h + req.path.offset, "/p", 2) == 0);
        CHECK(req.n_headers == 2);
        CHECK(http_header_is_hop_by_hop("Proxy-Connection: keep-alive", 28));
        CHECK(!http_header_is_hop_by_hop("Host: a", 7));
}

int main(void) {
        test_table();
        test_limits();
        return tap_finish();
}
