/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

/* Which resolved addresses the proxy never connects to. Returns NULL for a
 * public address, or a static string naming the range that refuses it
 * ("loopback 127.0.0.0/8", "cloud metadata 169.254.169.254", …). IPv6 forms
 * that carry an IPv4 address (mapped ::ffff:0:0/96, compatible ::/96, NAT64
 * 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address. */
const char *egress_address_forbidden(const struct sockaddr *sa);
