/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The writers of the agent seccomp policy: the raw BPF program agent-init
 * loads, the OCI/Docker JSON profile and the Markdown reference. Each walks
 * the rules policy.c expands from its tables (policy_foreach_rule()); none
 * keeps a list of its own. */

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "policy-rules.h"

static int add_rule(const PolicyRule *rule, void *userdata) {
        scmp_filter_ctx ctx = userdata;

        /* seccomp_rule_add_exact(): a rule for the native architecture must
         * not be rewritten behind our back. */
        return seccomp_rule_add_exact_array(ctx, rule->action, rule->nr, rule->n_cmp, rule->cmp);
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

int seccomp_policy_write_bpf(char *const *extra, size_t n_extra, SeccompPolicyFlags flags, int fd) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        int r;

        if (fd < 0 || (n_extra > 0 && !extra) || (flags & ~SECCOMP_POLICY_ALLOW_WRITE_EXECUTE))
                return -EINVAL;

        /* Refuse before building anything: the caller should have checked,
         * but the filter is the last place that can still say no. */
        for (size_t i = 0; i < n_extra; i++) {
                r = seccomp_policy_check_extra(extra[i], NULL);
                if (r < 0)
                        return r;
        }

        /* seccomp_init() includes only the native architecture. */
        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;

        /* Foreign architectures (i386 via int 0x80, x32 on x86-64) would
         * otherwise reach syscalls by other numbers this filter never
         * checks: refuse them with the same clean EPERM. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
        if (r < 0)
                return r;

        /* The filter is exported, never loaded by libseccomp; agent-init sets
         * no_new_privs itself before loading it. Say so, rather than rely on
         * a default that would only matter to seccomp_load(). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return r;

        /* A binary tree over ~200 syscalls: a handful of jumps per syscall
         * instead of a linear scan. Older libseccomp lacks it; that only costs
         * speed. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        r = policy_foreach_rule(flags, add_rule, ctx);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_extra; i++) {
                if (policy_is_allowed(extra[i]))  /* already allowed unconditionally (check_extra refused the filtered ones) */
                        continue;

                r = seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(extra[i]), 0);
                if (r < 0)
                        return r;
        }

        return seccomp_export_bpf(ctx, fd);
}

/* The OCI name of the native architecture. */
static const char *native_arch_name(void) {
        static const struct {
                uint32_t token;
                const char *name;
        } table[] = {
                { SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64" },
                { SCMP_ARCH_X86, "SCMP_ARCH_X86" },
                { SCMP_ARCH_X32, "SCMP_ARCH_X32" },
                { SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64" },
                { SCMP_ARCH_ARM, "SCMP_ARCH_ARM" },
                { SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64" },
                { SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE" },
                { SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64" },
                { SCMP_ARCH_S390X, "SCMP_ARCH_S390X" },
                { SCMP_ARCH_S390, "SCMP_ARCH_S390" },
                { SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64" },
                { SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64" },
        };
        uint32_t native = seccomp_arch_native();

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].token == native)
                        return table[i].name;
        return NULL;
}

static const char *cmp_op_name(enum scmp_compare op) {
        switch (op) {
        case SCMP_CMP_NE:
                return "SCMP_CMP_NE";
        case SCMP_CMP_LT:
                return "SCMP_CMP_LT";
        case SCMP_CMP_LE:
                return "SCMP_CMP_LE";
        case SCMP_CMP_EQ:
                return "SCMP_CMP_EQ";
        case SCMP_CMP_GE:
                return "SCMP_CMP_GE";
        case SCMP_CMP_GT:
                return "SCMP_CMP_GT";
        case SCMP_CMP_MASKED_EQ:
                return "SCMP_CMP_MASKED_EQ";
        default:
                return NULL;
        }
}

typedef struct JsonState {
        FILE *f;
        bool conditional;  /* which pass: unconditional names, or one object per filtered rule */
        size_t n;
} JsonState;

static int json_rule(const PolicyRule *rule, void *userdata) {
        JsonState *s = userdata;
        bool plain_allow = rule->action == SCMP_ACT_ALLOW && rule->n_cmp == 0;

        if (!s->conditional) {
                if (plain_allow)
                        fprintf(s->f, "%s\n                                \"%s\"", s->n++ > 0 ? "," : "", rule->name);
                return 0;
        }
        if (plain_allow)
                return 0;

        /* Names come from our own tables (identifiers), so no JSON escaping
         * is needed; keep it that way. */
        fprintf(s->f, ",\n                {\n                        \"names\": [\"%s\"],\n", rule->name);
        if (rule->action == SCMP_ACT_ALLOW)
                fputs("                        \"action\": \"SCMP_ACT_ALLOW\"", s->f);
        else if ((rule->action & 0xffff0000U) == SCMP_ACT_ERRNO(0))
                fprintf(s->f, "                        \"action\": \"SCMP_ACT_ERRNO\",\n"
                              "                        \"errnoRet\": %u",
                        rule->action & 0xffffU);
        else
                return -EINVAL;

        if (rule->n_cmp > 0) {
                fputs(",\n                        \"args\": [", s->f);
                for (unsigned i = 0; i < rule->n_cmp; i++) {
                        const char *op = cmp_op_name(rule->cmp[i].op);
                        if (!op)
                                return -EINVAL;
                        /* OCI: value is datum_a (the mask for MASKED_EQ),
                         * valueTwo datum_b. */
                        fprintf(s->f, "%s\n                                { \"index\": %u, \"value\": %llu, \"valueTwo\": %llu, \"op\": \"%s\" }",
                                i > 0 ? "," : "",
                                rule->cmp[i].arg,
                                (unsigned long long) rule->cmp[i].datum_a,
                                (unsigned long long) rule->cmp[i].datum_b,
                                op);
                }
                fputs("\n                        ]", s->f);
        }
        fputs("\n                }", s->f);
        s->n++;
        return 0;
}

int seccomp_policy_write_oci_json(FILE *f) {
        return seccomp_policy_write_oci_json_extra(f, NULL, 0);
}

int seccomp_policy_write_oci_json_extra(FILE *f, char *const *extra, size_t n_extra) {
        JsonState s = { .f = f };
        const char *arch;
        int r;

        if (!f || (n_extra > 0 && !extra))
                return -EINVAL;

        /* The same refusal as the BPF filter: the JSON must never allow what
         * the filter would not. */
        for (size_t i = 0; i < n_extra; i++) {
                r = seccomp_policy_check_extra(extra[i], NULL);
                if (r < 0)
                        return r;
        }

        arch = native_arch_name();
        if (!arch)
                return -EOPNOTSUPP;

        fprintf(f,
                "{\n"
                "        \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                "        \"defaultErrnoRet\": %d,\n"
                "        \"architectures\": [\"%s\"],\n"
                "        \"syscalls\": [\n"
                "                {\n"
                "                        \"names\": [",
                EPERM, arch);

        r = policy_foreach_rule(0, json_rule, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_extra; i++) {
                bool dup = policy_is_allowed(extra[i]);

                for (size_t j = 0; j < i && !dup; j++)
                        dup = streq(extra[j], extra[i]);
                if (!dup) /* checked above: a name libseccomp knows, an identifier */
                        fprintf(f, ",\n                                \"%s\"", extra[i]);
        }

        fputs("\n                        ],\n                        \"action\": \"SCMP_ACT_ALLOW\"\n                }", f);

        s.conditional = true;
        s.n = 0;
        r = policy_foreach_rule(0, json_rule, &s);
        if (r < 0)
                return r;

        fputs("\n        ]\n}\n", f);

        if (fflush(f) != 0 || ferror(f))
                return negative_errno();
        return 0;
}

int seccomp_policy_write_markdown(FILE *f) {
        const char *name, *reason;
        int filtered, error;
        size_t col = 0;

        if (!f)
                return -EINVAL;

        fprintf(f,
                "# The agent seccomp policy\n\n"
                "Generated from `src/seccomp/policy.c` by `export-policy`; edit the tables there.\n\n"
                "%zu syscalls are allowed unconditionally and %zu with argument filters. Every other\n"
                "syscall fails with `EPERM`, and so does every syscall of a foreign architecture\n"
                "(i386 through `int 0x80`, x32). `clone3()` fails with `ENOSYS`, so that libc falls\n"
                "back to `clone()`, whose flags the filter can check. An agent definition may add\n"
                "single syscalls with `[Security] SystemCalls=`, except those below.\n\n"
                "## Allowed\n\n",
                seccomp_policy_n_unconditional(), seccomp_policy_n_conditional());

        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, &filtered)); i++) {
                size_t len = strlen(name) + 4;  /* `name`, and a blank */

                if (filtered || seccomp_syscall_resolve_name(name) < 0)
                        continue;
                if (col > 0 && col + len > 78) {
                        fputs(",\n", f);
                        col = 0;
                } else if (col > 0)
                        fputs(", ", f);
                fprintf(f, "`%s`", name);
                col += len;
        }

        fputs("\n\n## Allowed with argument filters\n\n", f);
        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, &filtered)); i++)
                if (filtered && seccomp_syscall_resolve_name(name) >= 0)
                        fprintf(f, "- `%s`: %s.\n", name, policy_allowed_filter_reason(i));

        fputs("\n## Never allowed\n\n| syscall | fails with | why |\n|---|---|---|\n", f);
        for (size_t i = 0; (name = seccomp_policy_never_name(i, &reason, &error)); i++)
                fprintf(f, "| `%s`%s | %s | %s |\n",
                        name,
                        seccomp_syscall_resolve_name(name) < 0 ? " (not on this architecture)" : "",
                        error == ENOSYS ? "ENOSYS" : "EPERM",
                        reason);

        if (fflush(f) != 0 || ferror(f))
                return negative_errno();
        return 0;
}

