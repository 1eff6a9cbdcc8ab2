/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http-request.h"
#include "macro.h"

#define REFUSE(e, why)                  \
        do {                            \
                *ret_rule = (why);      \
                return (e);             \
        } while (0)

/* tchar of RFC 9110 5.6.2 */
static bool is_tchar(char c) {
        return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool token_is_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_tchar(s[i]))
                        return false;
        return true;
}

/* Finds the end of the line starting at p: the offset of its CR, which must be
 * followed by LF. -EAGAIN: no CRLF yet; -EBADMSG: bare CR, bare LF or NUL. */
static int line_end(const char *buf, size_t len, size_t p, size_t *ret, const char **ret_rule) {
        for (size_t i = p; i < len; i++) {
                if (buf[i] == '\0')
                        REFUSE(-EBADMSG, "NUL byte in the request head");
                if (buf[i] == '\n')
                        REFUSE(-EBADMSG, "bare LF (lines must end in CRLF)");
                if (buf[i] == '\r') {
                        if (i + 1 == len)
                                break;
                        if (buf[i + 1] != '\n')
                                REFUSE(-EBADMSG, "bare CR in the request head");
                        if (i - p > HTTP_LINE_MAX)
                                REFUSE(-E2BIG, "line longer than 8192 bytes");
                        *ret = i;
                        return 0;
                }
        }
        if (len - p > HTTP_LINE_MAX)
                REFUSE(-E2BIG, "line longer than 8192 bytes");
        return -EAGAIN;
}

/* host[:port] of an authority; port required for CONNECT. An IPv6 literal
 * in brackets is kept (lower case) so that it is refused as an IP literal,
 * not as a syntax error. */
static int parse_authority(const char *s, size_t n, bool need_port, uint16_t default_port, char *host,
                           uint16_t *port, const char **ret_rule) {
        size_t hn;
        const char *colon;

        if (n == 0)
                REFUSE(-EBADMSG, "empty host");
        if (memchr(s, '@', n))
                REFUSE(-EBADMSG, "userinfo in the target");
        if (s[0] == '[') {
                const char *close = memchr(s, ']', n);
                if (!close)
                        REFUSE(-EBADMSG, "unterminated IPv6 literal");
                colon = close + 1 < s + n ? close + 1 : NULL;
                if (colon && *colon != ':')
                        REFUSE(-EBADMSG, "garbage after an IPv6 literal");
        } else {
                colon = memchr(s, ':', n);
                if (colon && memchr(colon + 1, ':', (size_t) (s + n - colon - 1)))
                        REFUSE(-EBADMSG, "more than one ':' in the authority");
        }
        hn = colon ? (size_t) (colon - s) : n;
        if (hn == 0 || hn > EGRESS_HOST_MAX)
                REFUSE(-EBADMSG, "empty or overlong host");
        for (size_t i = 0; i < hn; i++) {
                if (!isalnum((unsigned char) s[i]) && !strchr("-.[]:", s[i]))
                        REFUSE(-EBADMSG, "invalid character in the host");
                host[i] = (char) tolower((unsigned char) s[i]);
        }
        host[hn] = '\0';
        if (!colon) {
                if (need_port)
                        REFUSE(-EBADMSG, "CONNECT target without a port");
                *port = default_port;
                return 0;
        }
        unsigned long v = 0;
        size_t pn = (size_t) (s + n - colon - 1);
        if (pn == 0 || pn > 5)
                REFUSE(-EBADMSG, "invalid port");
        for (size_t i = 0; i < pn; i++) {
                if (!isdigit((unsigned char) colon[1 + i]))
                        REFUSE(-EBADMSG, "invalid port");
                v = v * 10 + (unsigned long) (colon[1 + i] - '0');
        }
        if (v < 1 || v > 65535 || colon[1] == '0')
                REFUSE(-EBADMSG, "port out of range (1-65535, no leading zeros)");
        *port = (uint16_t) v;
        return 0;
}

static int parse_target(const char *buf, size_t off, size_t n, HttpRequest *req, const char **ret_rule) {
        const char *t = buf + off;

        for (size_t i = 0; i < n; i++)
                if ((unsigned char) t[i] <= 0x20 || t[i] == 0x7f)
                        REFUSE(-EBADMSG, "control character or space in the target");
        if (memchr(t, '#', n))
                REFUSE(-EBADMSG, "fragment in the target");
        if (req->is_connect)
                return parse_authority(t, n, true, 0, req->host, &req->port, ret_rule);
        if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
                REFUSE(-EBADMSG, "https:// target in plain HTTP (use CONNECT)");
        if (n < 7 || strncasecmp(t, "http://", 7) != 0)
                REFUSE(-EBADMSG, "target is not absolute-form http://host[:port]/path");
        size_t a = 7, e = a;
        while (e < n && t[e] != '/' && t[e] != '?')
                e++;
        int r = parse_authority(t + a, e - a, false, 80, req->host, &req->port, ret_rule);
        if (r < 0)
                return r;
        req->path = (HttpSpan) { off + e, n - e };
        return 0;
}

static int parse_request_line(const char *buf, size_t end, HttpRequest *req, const char **ret_rule) {
        const char *sp1 = memchr(buf, ' ', end), *sp2;
        size_t ml;

        if (!sp1)
                REFUSE(-EBADMSG, "request line without a target");
        ml = (size_t) (sp1 - buf);
        if (!token_is_valid(buf, ml))
                REFUSE(-EBADMSG, "method is not a token");
        if (ml > HTTP_METHOD_MAX)
                REFUSE(-EBADMSG, "method longer than 32 bytes");
        memcpy(req->method, buf, ml);
        req->method[ml] = '\0';
        req->is_connect = streq(req->method, "CONNECT");
        sp2 = memchr(sp1 + 1, ' ', (size_t) (buf + end - sp1 - 1));
        if (!sp2 || sp2 == sp1 + 1)
                REFUSE(-EBADMSG, "request line is not METHOD SP TARGET SP VERSION");
        if (memchr(sp2 + 1, ' ', (size_t) (buf + end - sp2 - 1)))
                REFUSE(-EBADMSG, "extra space in the request line");
        size_t vl = (size_t) (buf + end - sp2 - 1);
        if (vl == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
                req->minor_version = 1;
        else if (vl == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
                req->minor_version = 0;
        else
                REFUSE(-EBADMSG, "version is not HTTP/1.0 or HTTP/1.1");
        return parse_target(buf, (size_t) (sp1 + 1 - buf), (size_t) (sp2 - sp1 - 1), req, ret_rule);
}

static bool header_is(const char *line, size_t len, const char *name) {
        size_t n = strlen(name);
        return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* The value of a header line with its optional whitespace trimmed. */
static void header_value(const char *line, size_t len, const char **ret, size_t *ret_len) {
        const char *v = (const char *) memchr(line, ':', len) + 1, *e = line + len;
        while (v < e && (*v == ' ' || *v == '\t'))
                v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        *ret = v;
        *ret_len = (size_t) (e - v);
}

bool http_header_is_hop_by_hop(const char *line, size_t len) {
        return header_is(line, len, "Connection") || header_is(line, len, "Proxy-Connection") ||
               header_is(line, len, "Keep-Alive") || header_is(line, len, "Proxy-Authorization") ||
               header_is(line, len, "TE") || header_is(line, len, "Upgrade");
}

static int check_header(const char *line, size_t len, const char **ret_rule) {
        const char *colon = memchr(line, ':', len);

        if (line[0] == ' ' || line[0] == '\t')
                REFUSE(-EBADMSG, "obs-fold (header continuation line)");
        if (!colon)
                REFUSE(-EBADMSG, "header line without ':'");
        if (!token_is_valid(line, (size_t) (colon - line)))
                REFUSE(-EBADMSG, "header name is not a token (or whitespace before ':')");
        for (const char *p = colon + 1; p < line + len; p++)
                if (((unsigned char) *p < 0x20 && *p != '\t') || *p == 0x7f)
                        REFUSE(-EBADMSG, "control character in a header value");
        return 0;
}

/* A plain-HTTP Host must equal the target's authority (it is forwarded); a
 * CONNECT's Host must only parse: nothing reads it, and Node's
 * http.request names the proxy there. Content-Length digits only. */
static int check_semantics(const char *buf, HttpRequest *req, const char **ret_rule) {
        bool have_host = false;

        req->content_length = -1;
        for (size_t i = 0; i < req->n_headers; i++) {
                const char *l = buf + req->headers[i].offset, *v;
                size_t n = req->headers[i].len, vn;

                if (header_is(l, n, "Transfer-Encoding"))
                        REFUSE(-EBADMSG, "Transfer-Encoding in a request (send Content-Length)");
                if (header_is(l, n, "Content-Length")) {
                        if (req->content_length >= 0)
                                REFUSE(-EBADMSG, "duplicate Content-Length");
                        header_value(l, n, &v, &vn);
                        if (vn == 0 || vn > 15)
                                REFUSE(-EBADMSG, "invalid Content-Length");
                        req->content_length = 0;
                        for (size_t j = 0; j < vn; j++) {
                                if (!isdigit((unsigned char) v[j]))
                                        REFUSE(-EBADMSG, "invalid Content-Length");
                                req->content_length = req->content_length * 10 + (v[j] - '0');
                        }
                }
                if (header_is(l, n, "Host")) {
                        char h[EGRESS_HOST_MAX + 1];
                        uint16_t port;

                        if (have_host)
                                REFUSE(-EBADMSG, "duplicate Host");
                        have_host = true;
                        header_value(l, n, &v, &vn);
                        if (parse_authority(v, vn, false, req->is_connect ? req->port : 80, h, &port, ret_rule) < 0)
                                REFUSE(-EBADMSG, "invalid Host header");
                        if (!req->is_connect && (!streq(h, req->host) || port != req->port))
                                REFUSE(-EBADMSG, "Host header differs from the target");
                }
        }
        if (!have_host && req->minor_version == 1)
                REFUSE(-EBADMSG, "HTTP/1.1 request without Host");
        if (req->is_connect && req->content_length > 0)
                REFUSE(-EBADMSG, "CONNECT with a body");
        return 0;
}

int http_request_parse(const char *buf, size_t len, HttpRequest *ret, const char **ret_rule) {
        HttpRequest req = {};
        size_t p = 0, end;
        int r;

        r = line_end(buf, MIN(len, (size_t) HTTP_HEAD_MAX), 0, &end, ret_rule);
        if (r == -EAGAIN && len >= HTTP_HEAD_MAX)
                REFUSE(-E2BIG, "request head larger than 32768 bytes");
        if (r < 0)
                return r;
        r = parse_request_line(buf, end, &req, ret_rule);
        if (r < 0)
                return r;
        for (p = end + 2;;) {
                r = line_end(buf, MIN(len, (size_t) HTTP_HEAD_MAX), p, &end, ret_rule);
                if (r == -EAGAIN && len >= HTTP_HEAD_MAX)
                        REFUSE(-E2BIG, "request head larger than 32768 bytes");
                if (r < 0)
                        return r;
                if (end == p)
                        break;
                r = check_header(buf + p, end - p, ret_rule);
                if (r < 0)
                        return r;
                if (req.n_headers >= HTTP_HEADERS_MAX)
                        REFUSE(-E2BIG, "more than 100 header lines");
                req.headers[req.n_headers++] = (HttpSpan) { p, end - p };
                p = end + 2;
        }
        req.head_len = end + 2;
        r = check_semantics(buf, &req, ret_rule);
        if (r < 0)
                return r;
        *ret = req;
        return 0;
}
