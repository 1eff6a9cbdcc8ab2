/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "egress-address.h"
#include "macro.h"

typedef struct Range4 {
        uint32_t net;
        unsigned bits;
        const char *name;
} Range4;

#define IP4(a, b, c, d) (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((uint32_t) (c) << 8) | (uint32_t) (d))

/* Most specific first: the name of the first match is reported. */
static const Range4 ranges4[] = {
        { IP4(169, 254, 169, 254), 32, "cloud metadata 169.254.169.254" },
        { IP4(100, 100, 100, 200), 32, "cloud metadata 100.100.100.200" },
        { IP4(255, 255, 255, 255), 32, "broadcast 255.255.255.255" },
        { IP4(0, 0, 0, 0),      8,  "unspecified/this-network 0.0.0.0/8" },
        { IP4(10, 0, 0, 0),     8,  "private 10.0.0.0/8" },
        { IP4(100, 64, 0, 0),   10, "shared/CGNAT 100.64.0.0/10" },
        { IP4(127, 0, 0, 0),    8,  "loopback 127.0.0.0/8" },
        { IP4(169, 254, 0, 0),  16, "link-local 169.254.0.0/16" },
        { IP4(172, 16, 0, 0),   12, "private 172.16.0.0/12" },
        { IP4(192, 0, 0, 0),    24, "IETF protocol assignments 192.0.0.0/24" },
        { IP4(192, 168, 0, 0),  16, "private 192.168.0.0/16" },
        { IP4(224, 0, 0, 0),    4,  "multicast 224.0.0.0/4" },
        { IP4(240, 0, 0, 0),    4,  "reserved 240.0.0.0/4" },
};

static const char *forbidden4(uint32_t a) {
        for (size_t i = 0; i < ELEMENTSOF(ranges4); i++) {
                uint32_t mask = ranges4[i].bits == 0 ? 0 : ~(uint32_t) 0 << (32 - ranges4[i].bits);
                if ((a & mask) == ranges4[i].net)
                        return ranges4[i].name;
        }
        return NULL;
}

static uint32_t load4(const uint8_t *p) {
        return IP4(p[0], p[1], p[2], p[3]);
}

static const char *forbidden6(const uint8_t a[16]) {
        static const uint8_t zero[16], metadata[16] = { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 };
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

        if (memcmp(a, zero, 16) == 0)
                return "unspecified ::";
        if (memcmp(a, zero, 15) == 0 && a[15] == 1)
                return "loopback ::1";
        if (memcmp(a, metadata, 16) == 0)
                return "cloud metadata fd00:ec2::254";
        if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 || memcmp(a, zero, 12) == 0) {
                const char *why = forbidden4(load4(a + 12));
                return why ? why : memcmp(a, zero, 12) == 0 ? "IPv4-compatible ::/96" : NULL;
        }
        if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 2002:AABB:CCDD:: */
                return forbidden4(load4(a + 2));
        if ((a[0] & 0xfe) == 0xfc)
                return "unique-local fc00::/7";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
                return "link-local fe80::/10";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
                return "site-local fec0::/10";
        if (a[0] == 0xff)
                return "multicast ff00::/8";
        return NULL;
}

const char *egress_address_forbidden(const struct sockaddr *sa) {
        if (sa->sa_family == AF_INET)
                return forbidden4(ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr));
        if (sa->sa_family == AF_INET6)
                return forbidden6(((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr);
        return "not an IP address";
}
