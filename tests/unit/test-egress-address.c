/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The addresses the proxy never connects to, each with the range named. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "egress-address.h"
#include "tap.h"

static const char *judge(const char *text) {
        struct sockaddr_in s4 = { .sin_family = AF_INET };
        struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

        if (inet_pton(AF_INET, text, &s4.sin_addr) == 1)
                return egress_address_forbidden((struct sockaddr *) &s4);
        if (inet_pton(AF_INET6, text, &s6.sin6_addr) == 1)
                return egress_address_forbidden((struct sockaddr *) &s6);
        return "unparsable test address";
}

static const struct {
        const char *address, *range; /* NULL range: public, allowed */
} cases[] = {
        { "127.0.0.1", "loopback" },        { "127.255.1.2", "loopback" },
        { "10.0.0.5", "private 10." },      { "172.16.0.1", "private 172.16" },
        { "172.31.255.255", "private 172.16" }, { "172.32.0.1", NULL },
        { "192.168.1.1", "private 192.168" }, { "100.64.0.1", "CGNAT" },
        { "100.127.255.255", "CGNAT" },     { "100.128.0.1", NULL },
        { "169.254.169.254", "cloud metadata 169.254.169.254" }, { "169.254.1.1", "link-local" },
        { "100.100.100.200", "cloud metadata 100.100.100.200" },
        { "0.0.0.0", "unspecified" },       { "224.0.0.1", "multicast" },
        { "239.255.255.250", "multicast" }, { "255.255.255.255", "broadcast" },
        { "198.51.100.10", NULL },          { "203.0.113.7", NULL },
        { "8.8.8.8", NULL },                { "1.1.1.1", NULL },
        { "::", "unspecified" },            { "::1", "loopback ::1" },
        { "fe80::1", "link-local fe80" },   { "febf::1", "link-local fe80" },
        { "fc00::1", "unique-local" },      { "fd12:3456::1", "unique-local" },
        { "fd00:ec2::254", "cloud metadata fd00:ec2::254" },
        { "ff02::1", "multicast" },         { "fec0::1", "site-local" },
        { "::ffff:127.0.0.1", "loopback 127" }, { "::ffff:10.0.0.5", "private 10." },
        { "::ffff:169.254.169.254", "cloud metadata" }, { "::ffff:198.51.100.10", NULL },
        { "::127.0.0.1", "loopback 127" },  { "::8.8.8.8", "IPv4-compatible" },
        { "64:ff9b::10.0.0.1", "private 10." }, { "64:ff9b::8.8.8.8", NULL },
        { "2002:7f00:1::", "loopback 127" }, { "2002:0808:0808::", NULL },
        { "2001:db8::1", NULL },            { "2606:4700::1111", NULL },
};

int main(void) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const char *why = judge(cases[i].address);
                if (!cases[i].range)
                        CHECK_MSG(!why, "%s is allowed (got %s)", cases[i].address, why ? why : "allowed");
                else
                        CHECK_MSG(why && strstr(why, cases[i].range), "%s is refused as %s (got %s)",
                                  cases[i].address, cases[i].range, why ? why : "allowed");
        }
        return tap_finish();
}
