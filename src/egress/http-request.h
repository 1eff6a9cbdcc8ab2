/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress-policy.h"

/* A strict parser of an HTTP/1.x proxy request head (RFC 9112): CONNECT
 * host:port, or absolute-form http://host[:port]/path. Anything another
 * parser could read differently is refused: bare CR or LF, NUL and other
 * controls, obs-fold, whitespace before ':', a non-token method or header
 * name, two Host or Content-Length headers, a plain-HTTP Host that differs
 * from the target, Transfer-Encoding, userinfo, oversized lines or heads.
 * The Host of a CONNECT must parse but may name something else (Node's
 * http.request sends the proxy's own address): it is neither judged nor
 * forwarded, the tunnel goes to the request line's authority. */

#define HTTP_LINE_MAX 8192
#define HTTP_HEAD_MAX 32768
#define HTTP_HEADERS_MAX 100
#define HTTP_METHOD_MAX 32

typedef struct HttpSpan {
        size_t offset, len;
} HttpSpan;

typedef struct HttpRequest {
        char method[HTTP_METHOD_MAX + 1];
        bool is_connect;
        char host[EGRESS_HOST_MAX + 1]; /* lower case, as asked; may be an IP literal (then refused later) */
        uint16_t port;
        HttpSpan path;                 /* origin-form target for the upstream, "/" if empty */
        int minor_version;             /* HTTP/1.0 or HTTP/1.1 */
        int64_t content_length;        /* -1: none */
        HttpSpan headers[HTTP_HEADERS_MAX]; /* whole lines without CRLF, in order */
        size_t n_headers;
        size_t head_len;               /* bytes up to and including the empty line */
} HttpRequest;

/* Parses the head at the start of buf. Returns 0 with *ret filled,
 * -EAGAIN if the head is incomplete and may still fit, or -EBADMSG /
 * -E2BIG with *ret_rule naming what was refused (a static string). */
int http_request_parse(const char *buf, size_t len, HttpRequest *ret, const char **ret_rule);

/* True for a header a proxy consumes and must not forward. */
bool http_header_is_hop_by_hop(const char *line, size_t len);
