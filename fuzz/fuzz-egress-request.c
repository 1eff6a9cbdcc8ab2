/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: arbitrary bytes as what an agent sends the egress proxy
 * (the request-head parser, fed whole and in two pieces as a slow client
 * would send it) and as a host pattern or a compiled policy file. Nothing may
 * crash or read out of bounds; what the parser accepts must be consistent:
 * a head within the limits, spans inside it, a host name the pattern checker
 * can judge. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "egress-policy.h"
#include "http-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *buf, size_t size) {
        HttpRequest req;
        const char *rule = NULL;
        int r = http_request_parse(buf, size, &req, &rule);

        if (r == 0) {
                assert(req.head_len <= size && req.head_len <= HTTP_HEAD_MAX);
                assert(req.path.offset + req.path.len <= req.head_len);
                for (size_t i = 0; i < req.n_headers; i++)
                        assert(req.headers[i].offset + req.headers[i].len <= req.head_len);
                assert(req.port >= 1);
                assert(strlen(req.host) >= 1 && strlen(req.host) <= EGRESS_HOST_MAX);
                (void) egress_host_check(req.host);
                /* a shorter prefix is never a different complete request */
                if (req.head_len > 1) {
                        HttpRequest again;
                        int k = http_request_parse(buf, req.head_len - 1, &again, &rule);
                        assert(k == -EAGAIN || k == -EBADMSG || k == -E2BIG);
                }
        } else
                assert((r == -EAGAIN && !rule) || ((r == -EBADMSG || r == -E2BIG) && rule));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        EgressPattern p;
        EgressPolicy *pol = malloc(sizeof *pol);
        char why[256];

        if (!s || !pol) {
                free(s);
                free(pol);
                return 0;
        }
        memcpy(s, data, size);
        s[size] = '\0';
        check_request(s, size);
        if (egress_pattern_parse(s, &p, why, sizeof why) == 0) {
                char buf[300];
                EgressPattern q;
                egress_pattern_format(&p, buf, sizeof buf);
                /* the canonical form parses to the same pattern */
                assert(egress_pattern_parse(buf, &q, why, sizeof why) == 0);
                assert(memcmp(&p, &q, sizeof p) == 0);
        }
        (void) egress_policy_parse_text(s, pol, why, sizeof why);
        free(s);
        free(pol);
        return 0;
}
