/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-runtime: the helper the generated agent@NAME.service calls for the
 * Provision, Configure and Recycle steps of an agent's life (docs/DESIGN.md). */

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "runtime.h"

static const struct {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *help;
} verbs[] = {
        { "start",     verb_start,     "provision and configure, then execute systemd-nspawn" },
        { "provision", verb_provision, "resolve and check the image, mount it read-only" },
        { "configure", verb_configure, "user namespace, seccomp filter, secrets, encrypted workspace" },
        { "recycle",   verb_recycle,   "tear down everything configure and provision made" },
        { "digest",    verb_digest,    "print the sha256 digest of an image (tree or file)" },
};

static void help(void) {
        printf("agent-runtime VERB [OPTIONS…]\n\n"
               "Runtime steps of an agentcage agent; called by agent@NAME.service.\n\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-10s %s\n", verbs[i].name, verbs[i].help);
}

int main(int argc, char *argv[]) {
        log_set_prefix("agent-runtime");

        if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
                help();
                return argc < 2 ? 2 : 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1) < 0 ? 1 : 0;

        log_error("Unknown verb '%s'; see agent-runtime --help.", argv[1]);
        return 2;
}
