/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* agentctl export, the parts that need no definition on disk: every key of
 * the schema table is either carried by the Pod or listed as not expressed;
 * the YAML quoting escapes what YAML would misread (checked against a real
 * YAML parser, python3's); the shell quoting gives back every byte (checked
 * against /bin/sh). Hostile strings here include the control characters the
 * schema itself refuses, so the quoting does not lean on the schema. The
 * egress NetworkPolicy excepts exactly the addresses agentcage's proxy
 * refuses (src/egress/egress-address.c), checked address by address.
 *
 *     test-export PYTHON3 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress-address.h"
#include "export.h"
#include "schema.h"
#include "tap.h"

static const char *const hostile[] = {
        "plain",
        "",
        "it's a \"test\"",
        "$(touch /tmp/pwned) `id` $HOME ${x}",
        "line1\nline2\n",
        "tab\there\r\n",
        "- x: y",
        "# not a comment",
        "key: value",
        "&anchor *alias !tag %directive",
        "yes", "no", "on", "off", "null", "~", "0x10", "1e3", "010", ".inf",
        "{flow: [1, 2]}",
        "back\\slash \\n",
        "\x01\x02\x1b[31m\x7f",
        "\xc2\x85 NEL \xe2\x80\xa8 LS \xe2\x80\xa9 PS \xef\xbb\xbf BOM",
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa7",
        "'single' and '' two",
        "--- \n...\n",
};

static void test_schema_coverage(void) {
        for (size_t i = 0; i < schema_n_keys; i++) {
                const char *mapped = NULL, *lost = NULL;
                bool found = export_kube_key(schema_keys[i].section, schema_keys[i].key, &mapped, &lost);

                CHECK_MSG(found && (mapped || lost), "[%s] %s is mapped to the Pod or listed as not expressed",
                          schema_keys[i].section, schema_keys[i].key);
        }
}

/* Every lost part of every key appears in the list the output carries. */
static void test_not_expressed_lists_every_lost_part(void) {
        Buffer b = {};

        CHECK(export_kube_not_expressed(NULL, &b) == 0);
        for (size_t i = 0; i < schema_n_keys; i++) {
                const char *lost = NULL;

                if (!export_kube_key(schema_keys[i].section, schema_keys[i].key, NULL, &lost) || !lost)
                        continue;
                CHECK_MSG(b.data && strstr(b.data, lost), "[%s] %s: what is lost is listed",
                          schema_keys[i].section, schema_keys[i].key);
        }
        buffer_done(&b);
}

/* Runs PYTHON3 -c PROG with input on stdin; returns its exit status. */
static int run_python(const char *python, const char *prog, const char *input, size_t len) {
        int fds[2];
        pid_t pid;
        int status;

        if (pipe(fds) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(fds[0], 0);
                close(fds[0]);
                close(fds[1]);
                execlp(python, python, "-c", prog, (char *) NULL);
                _exit(127);
        }
        close(fds[0]);
        if (write(fds[1], input, len) != (ssize_t) len)
                status = -EIO;
        close(fds[1]);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* One YAML document: a mapping whose key and value are the same hostile
 * string; python3's YAML parser must give back exactly that string for both,
 * and nothing else. The string travels to python hex-encoded on line 1. */
static void test_yaml_roundtrip(const char *python) {
        static const char prog[] =
                "import sys, yaml\n"
                "want = bytes.fromhex(sys.stdin.readline().strip()).decode()\n"
                "doc = yaml.safe_load(sys.stdin.read())\n"
                "sys.exit(0 if doc == {want: [want, {want: want}]} else 1)\n";

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array(), *inner = json_object_new_object();
                Buffer b = {};

                json_object_object_add(inner, hostile[i], json_object_new_string(hostile[i]));
                json_object_array_add(arr, json_object_new_string(hostile[i]));
                json_object_array_add(arr, inner);
                json_object_object_add(o, hostile[i], arr);
                for (const unsigned char *p = (const unsigned char *) hostile[i]; *p; p++)
                        buffer_printf(&b, "%02x", *p);
                buffer_puts(&b, "\n");
                CHECK_MSG(yaml_write_document(&b, o) == 0, "hostile string %zu: YAML written", i);
                CHECK_MSG(run_python(python, prog, b.data, b.len) == 0,
                          "hostile string %zu: python's YAML parser reads back exactly the string", i);
                buffer_done(&b);
                json_object_put(o);
        }
}

static void test_yaml_refuses_bad_utf8(void) {
        static const char *const bad[] = { "\xff", "\xc0\xaf", "\xed\xa0\x80", "abc\xe2\x82", "\xf4\x90\x80\x80" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Buffer b = {};
                json_object *s = json_object_new_string(bad[i]);

                CHECK_MSG(yaml_quote(&b, bad[i]) == -EILSEQ, "invalid UTF-8 %zu is refused by the YAML writer", i);
                CHECK_MSG(export_tree_check_utf8(s) == -EILSEQ, "invalid UTF-8 %zu is refused in the tree", i);
                json_object_put(s);
                buffer_done(&b);
        }
}

/* sh -c 'printf "%s" "$1"' with the quoted word must print the original. */
static void test_shell_roundtrip(void) {
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                Buffer cmd = {};
                char out[512];
                size_t n = 0;
                FILE *p;

                buffer_puts(&cmd, "printf %s ");
                shell_quote(&cmd, hostile[i]);
                buffer_put(&cmd, "", 1);
                p = popen(cmd.data, "r");
                if (p) {
                        n = fread(out, 1, sizeof out, p);
                        pclose(p);
                }
                CHECK_MSG(p && n == strlen(hostile[i]) && memcmp(out, hostile[i], n) == 0,
                          "hostile string %zu survives /bin/sh as one word", i);
                buffer_done(&cmd);
        }
}

/* ---- the egress NetworkPolicy against the proxy's address table ---------- */

typedef struct Cidr {
        uint8_t a[16];
        unsigned bits;
} Cidr;

static bool in_cidr(const Cidr *c, const uint8_t *addr) {
        for (unsigned i = 0; i < c->bits; i++) {
                unsigned bit = 7 - i % 8;
                if (((addr[i / 8] >> bit) & 1) != ((c->a[i / 8] >> bit) & 1))
                        return false;
        }
        return true;
}

typedef struct Block {
        Cidr cidr;
        Cidr except[64];
        size_t n_except;
} Block;

static bool parse_cidr(int family, const char *s, Cidr *ret) {
        char addr[64];
        const char *slash = strchr(s, '/');
        unsigned max = family == AF_INET ? 32 : 128;
        char *end;

        if (!slash || (size_t) (slash - s) >= sizeof addr)
                return false;
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = '\0';
        *ret = (Cidr) {};
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || bits > max || inet_pton(family, addr, ret->a) != 1)
                return false;
        ret->bits = (unsigned) bits;
        return true;
}

/* The ipBlock of family in the policy's second egress rule. */
static bool policy_block(json_object *np, int family, Block *ret) {
        json_object *to = json_object_object_get(
                json_object_array_get_idx(json_object_object_get(json_object_object_get(np, "spec"), "egress"), 1),
                "to");

        *ret = (Block) {};
        for (size_t i = 0; i < json_object_array_length(to); i++) {
                json_object *b = json_object_object_get(json_object_array_get_idx(to, i), "ipBlock");
                const char *cidr = json_object_get_string(json_object_object_get(b, "cidr"));
                json_object *ex = json_object_object_get(b, "except");

                if (!cidr || (strchr(cidr, ':') != NULL) != (family == AF_INET6))
                        continue;
                if (!parse_cidr(family, cidr, &ret->cidr) || json_object_array_length(ex) > ELEMENTSOF(ret->except))
                        return false;
                for (size_t j = 0; j < json_object_array_length(ex); j++)
                        if (!parse_cidr(family, json_object_get_string(json_object_array_get_idx(ex, j)),
                                        &ret->except[ret->n_except++]))
                                return false;
                return true;
        }
        return false;
}

static bool policy_allows(const Block *b, const uint8_t *addr) {
        if (!in_cidr(&b->cidr, addr))
                return false;
        for (size_t i = 0; i < b->n_except; i++)
                if (in_cidr(&b->except[i], addr))
                        return false;
        return true;
}

static bool proxy_allows(int family, const uint8_t *addr) {
        struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
        struct sockaddr_in s4 = { .sin_family = AF_INET };

        if (family == AF_INET) {
                memcpy(&s4.sin_addr, addr, 4);
                return !egress_address_forbidden((const struct sockaddr *) &s4);
        }
        memcpy(&s6.sin6_addr, addr, 16);
        return !egress_address_forbidden((const struct sockaddr *) &s6);
}

static uint64_t xorshift(uint64_t *s) {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        return *s;
}

typedef struct Tally {
        unsigned long n, differ;
        char first[INET6_ADDRSTRLEN];
} Tally;

/* The policy and the proxy must agree on addr. An IPv4-mapped address never
 * leaves the host as such: the kernel sends IPv4, which the IPv4 block
 * judges. */
static void compare(Tally *t, const Block *b4, const Block *b6, int family, const uint8_t *addr) {
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        bool policy;

        if (family == AF_INET)
                policy = policy_allows(b4, addr);
        else if (memcmp(addr, mapped, 12) == 0)
                policy = policy_allows(b4, addr + 12);
        else
                policy = policy_allows(b6, addr);
        t->n++;
        if (policy != proxy_allows(family, addr) && t->differ++ == 0)
                inet_ntop(family, addr, t->first, sizeof t->first);
}

static void compare_around(Tally *t, const Block *b4, const Block *b6, int family, const Cidr *c) {
        size_t len = family == AF_INET ? 4 : 16;
        uint8_t lo[16], hi[16];

        /* The first and the last address of c and their neighbours outside. */
        memcpy(lo, c->a, len);
        memcpy(hi, c->a, len);
        for (unsigned i = c->bits; i < len * 8; i++)
                hi[i / 8] |= (uint8_t) (1u << (7 - i % 8));
        compare(t, b4, b6, family, lo);
        compare(t, b4, b6, family, hi);
        for (size_t i = len; i-- > 0;)
                if (lo[i]-- != 0)
                        break;
        for (size_t i = len; i-- > 0;)
                if (++hi[i] != 0)
                        break;
        compare(t, b4, b6, family, lo);
        compare(t, b4, b6, family, hi);
}

static void test_egress_policy_matches_proxy(void) {
        char *allow[] = { (char *) "api.example.com:443", (char *) "*.cdn.example.net:8443", NULL };
        Agent a = { .name = (char *) "fetcher", .network = NETWORK_NONE, .egress_allow = allow };
        json_object *np = NULL;
        Block b4, b6;
        Tally t4 = {}, t6 = {};
        uint64_t seed = 0x9e3779b97f4a7c15;

        if (!CHECK(export_kube_network_policy(&a, &np) == 0))
                return;
        CHECK(policy_block(np, AF_INET, &b4) && b4.cidr.bits == 0);
        CHECK(policy_block(np, AF_INET6, &b6) && b6.cidr.bits == 0);

        /* IPv4: every a.b.0.0 and a.b.255.255, the edges of every except,
         * 200000 random addresses. */
        for (unsigned i = 0; i < 65536; i++) {
                uint8_t x[4] = { (uint8_t) (i >> 8), (uint8_t) i, 0, 0 }, y[4] = { x[0], x[1], 255, 255 };
                compare(&t4, &b4, &b6, AF_INET, x);
                compare(&t4, &b4, &b6, AF_INET, y);
        }
        for (size_t i = 0; i < b4.n_except; i++)
                compare_around(&t4, &b4, &b6, AF_INET, &b4.except[i]);
        for (unsigned i = 0; i < 200000; i++) {
                uint32_t r = (uint32_t) xorshift(&seed);
                uint8_t x[4] = { (uint8_t) (r >> 24), (uint8_t) (r >> 16), (uint8_t) (r >> 8), (uint8_t) r };
                compare(&t4, &b4, &b6, AF_INET, x);
        }
        CHECK_MSG(t4.differ == 0, "IPv4: the policy allows exactly what the proxy allows (%lu of %lu differ, first %s)",
                  t4.differ, t4.n, t4.first);

        /* IPv6: random addresses under every prefix that carries an IPv4
         * address (NAT64, 6to4, compatible, mapped; the first four), under
         * every range of the proxy's own, under global unicast, anywhere. */
        static const struct {
                uint8_t prefix[12];
                size_t len, v4_at;
        } shapes[] = {
                { { 0x00, 0x64, 0xff, 0x9b }, 12, 12 },
                { { 0x20, 0x02 }, 2, 2 },
                { {}, 12, 12 },
                { { [10] = 0xff, [11] = 0xff }, 12, 12 },
                { { 0xfc }, 1, 16 }, { { 0xfd }, 1, 16 }, { { 0xfe, 0x80 }, 2, 16 }, { { 0xfe, 0xc0 }, 2, 16 },
                { { 0xff }, 1, 16 }, { { 0x20, 0x01 }, 2, 16 }, { {}, 0, 16 },
        };
        for (size_t s = 0; s < ELEMENTSOF(shapes); s++)
                for (unsigned i = 0; i < 20000; i++) {
                        uint8_t x[16];
                        for (size_t j = 0; j < 16; j += 8) {
                                uint64_t r = xorshift(&seed);
                                memcpy(x + j, &r, 8);
                        }
                        memcpy(x, shapes[s].prefix, shapes[s].len);
                        compare(&t6, &b4, &b6, AF_INET6, x);
                }
        /* Under the prefixes that carry an IPv4 address: every a.b.0.0 and
         * a.b.255.255 inside, as for IPv4 itself. */
        for (size_t s = 0; s < 4; s++)
                for (unsigned i = 0; i < 65536; i++) {
                        uint8_t x[16] = {};
                        memcpy(x, shapes[s].prefix, shapes[s].len);
                        x[shapes[s].v4_at] = (uint8_t) (i >> 8);
                        x[shapes[s].v4_at + 1] = (uint8_t) i;
                        compare(&t6, &b4, &b6, AF_INET6, x);
                        x[shapes[s].v4_at + 2] = x[shapes[s].v4_at + 3] = 255;
                        compare(&t6, &b4, &b6, AF_INET6, x);
                }
        for (size_t i = 0; i < b6.n_except; i++)
                compare_around(&t6, &b4, &b6, AF_INET6, &b6.except[i]);
        CHECK_MSG(t6.differ == 0, "IPv6: the policy allows exactly what the proxy allows (%lu of %lu differ, first %s)",
                  t6.differ, t6.n, t6.first);
        json_object_put(np);
}

int main(int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "usage: test-export PYTHON3\n");
                return 2;
        }
        test_schema_coverage();
        test_not_expressed_lists_every_lost_part();
        test_yaml_roundtrip(argv[1]);
        test_yaml_refuses_bad_utf8();
        test_shell_roundtrip();
        test_egress_policy_matches_proxy();
        return tap_finish();
}
