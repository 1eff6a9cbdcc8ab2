/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl: the operator's view of the agents and their controls.
 *
 * Everything about a running agent comes from systemd and machined over the
 * system bus (bus.c), its journal (journal.c) and its state directory
 * (state.c, the layout of src/basic/agent-state.h), never from running
 * systemctl or ps; everything about a definition comes from the same code
 * the generator runs. This file parses the command line, picks the verb from
 * the table below and maps what the verb returns to the exit status, once:
 * 0 success, 1 failure, 2 usage error, 3 unknown agent, 4 not root where root
 * is needed, 5 systemd or machined unreachable (ctl-util.h). */

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "export.h"
#include "images.h"
#include "log.h"
#include "parse-value.h"

enum {
        F_ROOT = 1 << 0,  /* changes state: root only */
        F_JSON = 1 << 1,  /* --json allowed */
        F_LEASE = 1 << 2, /* --lease allowed */
        F_NAMES = 1 << 3, /* --names allowed */
        F_PRUNE = 1 << 4, /* --prune allowed */
};

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        unsigned flags;
        int (*run)(Ctl *c, char **args);
        const char *args_help; /* what "takes …" says on a wrong count */
} Verb;

/* One line a verb; the verb lives in a file of its own and is declared in ctl.h. */
static const Verb verbs[] = {
        { "list", 0, 0, F_JSON | F_NAMES, verb_list, "no arguments" },
        { "status", 1, 1, F_JSON, verb_status, "exactly one agent NAME" },
        { "start", 1, 1, F_ROOT, verb_start, "exactly one agent NAME" },
        { "stop", 1, 1, F_ROOT, verb_stop, "exactly one agent NAME" },
        { "restart", 1, 1, F_ROOT, verb_restart, "exactly one agent NAME" },
        { "assign", 2, 2, F_ROOT | F_LEASE, verb_assign, "NAME and TASK" },
        { "release", 1, 1, F_ROOT, verb_release, "exactly one agent NAME" },
        { "reap", 0, 0, F_ROOT, verb_reap, "no arguments" },
        { "cat", 1, 1, F_JSON, verb_cat, "exactly one agent NAME" },
        { "verify", 0, UINT_MAX, F_JSON, verb_verify, "FILEs" },
        { "images", 0, 0, F_JSON | F_PRUNE, verb_images, "no arguments" },
        { "pull", 1, 1, F_ROOT, verb_pull, "exactly one agent NAME" },
};

static void help(void) {
        printf("agentctl [OPTIONS] COMMAND [ARGS…]\n\n"
               "Shows and controls the agents of agentcage.\n\n"
               "Commands:\n"
               "  list [--names]              every agent, its state, uptime, TTL, memory, task\n"
               "  status NAME                 everything about one agent, with its last journal lines\n"
               "  start NAME                  start the agent and wait for the result\n"
               "  stop NAME                   stop the agent and wait for the result\n"
               "  restart NAME                restart the agent and wait for the result\n"
               "  assign NAME TASK [--lease=DURATION]\n"
               "                              give a running agent a task (to hold until DURATION)\n"
               "  release NAME                the task is done: drop it and stop the agent\n"
               "  reap                        stop agents without a task for longer than OrphanTimeoutSec=\n"
               "  cat NAME                    the definition, its drop-ins and the unit made from it\n"
               "  verify [FILE…]              check definitions with the generator's own code\n"
               "  images [--prune]            the image cache (--prune: drop what no definition uses)\n"
               "  pull NAME                   fetch, check and cache the agent's Image= reference now\n"
               "  export NAME --format kubernetes|oci-seccomp|docker\n"
               "                              the agent's floor for another engine (see export --help)\n\n"
               "Options:\n"
               "  --json                      machine-readable output (list, status, cat, verify)\n"
               "  --names                     list: print only the names\n"
               "  --lease=DURATION            assign: the lease, e.g. 30min\n"
               "  -h --help                   this help\n"
               "  --version                   the version\n\n"
               "See agentctl(1).\n");
}

static int set_flag(bool *flag, const char *option) {
        if (*flag) {
                log_error("%s given twice.", option);
                return -CTL_E_USAGE;
        }
        *flag = true;
        return 0;
}

/* Parses the options into c. Returns 1 to run a verb, 0 when done (help,
 * version), or -EINVAL. */
static int parse_argv(int argc, char *argv[], Ctl *c) {
        enum { ARG_JSON = 0x100, ARG_NAMES, ARG_LEASE, ARG_VERSION, ARG_PRUNE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "names", no_argument, NULL, ARG_NAMES },
                { "lease", required_argument, NULL, ARG_LEASE },
                { "prune", no_argument, NULL, ARG_PRUNE },
                {}
        };
        int o, r;

        opterr = 0;
        while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (o) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("agentctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        if ((r = set_flag(&c->json, "--json")) < 0)
                                return r;
                        break;
                case ARG_NAMES:
                        if ((r = set_flag(&c->names, "--names")) < 0)
                                return r;
                        break;
                case ARG_LEASE:
                        if ((r = set_flag(&c->lease_set, "--lease")) < 0)
                                return r;
                        r = parse_timespan(optarg, &c->lease_usec);
                        if (r < 0 || c->lease_usec == 0) {
                                log_error("Invalid --lease '%s': expected a positive duration such as 90s, 30min "
                                          "or 2h.", optarg);
                                return -CTL_E_USAGE;
                        }
                        break;
                case ARG_PRUNE:
                        if ((r = set_flag(&c->prune, "--prune")) < 0)
                                return r;
                        break;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                log_error("Unknown option '-%c' (see --help).", optopt);
                        else if (optopt != 0)
                                log_error("Option '%s' needs a value (see --help).", argv[optind - 1]);
                        else
                                log_error("Unknown option '%s' (see --help).", argv[optind - 1]);
                        return -CTL_E_USAGE;
                default:
                        return -CTL_E_USAGE;
                }
        return 1;
}

/* The verb named by argv[optind], checked against its arguments and options. */
static int find_verb(int argc, char *argv[], const Ctl *c, const Verb **ret) {
        const Verb *verb = NULL;
        unsigned n_args;

        if (optind >= argc) {
                log_error("No command given (see --help).");
                return -CTL_E_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                log_error("Unknown command '%s' (see --help).", argv[optind]);
                return -CTL_E_USAGE;
        }
        n_args = (unsigned) (argc - optind - 1);
        if (n_args < verb->min_args || n_args > verb->max_args)
                return log_error("'agentctl %s' takes %s (see --help).", verb->name, verb->args_help), -CTL_E_USAGE;
        if (c->json && !(verb->flags & F_JSON))
                return log_error("'agentctl %s' has no --json output.", verb->name), -CTL_E_USAGE;
        if (c->names && !(verb->flags & F_NAMES))
                return log_error("--names applies to 'agentctl list' only."), -CTL_E_USAGE;
        if (c->names && c->json)
                return log_error("--names and --json do not go together."), -CTL_E_USAGE;
        if (c->prune && (!(verb->flags & F_PRUNE) || c->json))
                return log_error("--prune applies to 'agentctl images' only, without --json."), -CTL_E_USAGE;
        if (c->lease_set && !(verb->flags & F_LEASE))
                return log_error("--lease applies to 'agentctl assign' only."), -CTL_E_USAGE;
        if ((verb->flags & F_ROOT) && geteuid() != 0)
                return log_error("'agentctl %s' changes the state of agents and needs root.", verb->name),
                       -CTL_E_NOT_ROOT;
        *ret = verb;
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(ctl_done) Ctl ctl = {};
        const Verb *verb;
        int r;

        r = parse_argv(argc, argv, &ctl);
        if (r <= 0)
                return r;
        r = find_verb(argc, argv, &ctl, &verb);
        if (r < 0)
                return r;
        r = ctl_discover(&ctl);
        if (r < 0)
                return r;
        r = verb->run(&ctl, argv + optind + 1);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("Failed to write the output.");
                return r < 0 ? r : -EIO;
        }
        return r;
}

int main(int argc, char *argv[]) {
        log_set_prefix("agentctl");
        /* A reply from systemd is not a reason to leave files others can write. */
        umask(0077);
        /* export has options of its own (--format, --output, --image) that the
         * common parser does not know, so it is not in the verb table; what it
         * returns is mapped like every verb's. */
        if (argc > 1 && streq(argv[1], "export"))
                return ctl_exit_status(verb_export(argc - 1, argv + 1));
        return ctl_exit_status(run(argc, argv));
}
