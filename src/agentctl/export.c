/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* agentctl export NAME --format kubernetes|oci-seccomp|docker [--output yaml|json]
 *                 [--image REF] [--seccomp-profile PATH]
 *
 * Loads the agent's definition the way the generator does (search path,
 * drop-ins, the schema table) and writes it for another engine. The output
 * is built completely in memory and written only when it is whole. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-util.h"
#include "definition.h"
#include "export.h"
#include "log.h"
#include "parse-value.h"
#include "policy.h"

typedef enum Format {
        FORMAT_NONE,
        FORMAT_KUBERNETES,
        FORMAT_OCI_SECCOMP,
        FORMAT_DOCKER,
} Format;

typedef struct ExportArgs {
        Format format;
        bool json;
        bool output_set;
        ExportOptions opts;
        const char *name;
} ExportArgs;

static void export_help(void) {
        printf("agentctl export NAME --format FORMAT [OPTIONS]\n\n"
               "Writes the agent's floor for another engine to standard output.\n\n"
               "  --format kubernetes         a Pod meeting the \"restricted\" Pod Security Standard, and its\n"
               "                              NetworkPolicy; what Kubernetes cannot express is listed\n"
               "  --format oci-seccomp        the agent's seccomp allow-list as an OCI/Docker profile\n"
               "  --format docker             the equivalent docker run command line\n"
               "  --output yaml|json          kubernetes: the encoding (default yaml)\n"
               "  --image REF                 the image reference (default: Image= if it is a name)\n"
               "  --seccomp-profile PATH      where the exported profile is installed (default\n"
               "                              agentcage/NAME.json for Kubernetes, NAME.seccomp.json for docker)\n\n"
               "See agentctl(1).\n");
}

static int parse_format(const char *s, Format *ret) {
        if (streq(s, "kubernetes"))
                *ret = FORMAT_KUBERNETES;
        else if (streq(s, "oci-seccomp"))
                *ret = FORMAT_OCI_SECCOMP;
        else if (streq(s, "docker"))
                *ret = FORMAT_DOCKER;
        else
                return -EINVAL;
        return 0;
}

/* An option value ends up in a manifest or a command line: it must be
 * printable text. */
static int check_value(const char *opt, const char *v) {
        if (v[0] == '\0' || !string_is_printable_utf8(v, false)) {
                log_error("Invalid %s: expected printable text (no control characters).", opt);
                return -EINVAL;
        }
        return 0;
}

static int parse_one(ExportArgs *x, int c, const char *arg) {
        switch (c) {
        case 'f':
                if (x->format != FORMAT_NONE)
                        return log_error("--format given twice."), -EINVAL;
                if (parse_format(arg, &x->format) < 0)
                        return log_error("Invalid --format '%s': expected kubernetes, oci-seccomp or docker.", arg),
                               -EINVAL;
                return 0;
        case 'o':
                if (x->output_set)
                        return log_error("--output given twice."), -EINVAL;
                if (!streq(arg, "yaml") && !streq(arg, "json"))
                        return log_error("Invalid --output '%s': expected yaml or json.", arg), -EINVAL;
                x->output_set = true;
                x->json = streq(arg, "json");
                return 0;
        case 'i':
                if (x->opts.image)
                        return log_error("--image given twice."), -EINVAL;
                x->opts.image = arg;
                return check_value("--image", arg);
        case 's':
                if (x->opts.seccomp_profile)
                        return log_error("--seccomp-profile given twice."), -EINVAL;
                x->opts.seccomp_profile = arg;
                return check_value("--seccomp-profile", arg);
        default:
                return -EINVAL;
        }
}

/* Returns 0, 1 for --help, or -CTL_E_USAGE (logged). */
static int parse_args(int argc, char *argv[], ExportArgs *x) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "format", required_argument, NULL, 'f' },
                { "output", required_argument, NULL, 'o' },
                { "image", required_argument, NULL, 'i' },
                { "seccomp-profile", required_argument, NULL, 's' },
                {}
        };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h')
                        return export_help(), 1;
                if (c == '?') {
                        if (optopt != 0)
                                log_error("Option '%s' needs a value (see agentctl export --help).", argv[optind - 1]);
                        else
                                log_error("Unknown option '%s' (see agentctl export --help).", argv[optind - 1]);
                        return -CTL_E_USAGE;
                }
                if (parse_one(x, c, optarg) < 0)
                        return -CTL_E_USAGE;
        }
        if (optind + 1 != argc) {
                log_error("'agentctl export' takes exactly one agent NAME (see agentctl export --help).");
                return -CTL_E_USAGE;
        }
        x->name = argv[optind];
        if (x->format == FORMAT_NONE) {
                log_error("'agentctl export' needs --format kubernetes, oci-seccomp or docker.");
                return -CTL_E_USAGE;
        }
        if (x->output_set && x->format != FORMAT_KUBERNETES) {
                log_error("--output applies to --format kubernetes only.");
                return -CTL_E_USAGE;
        }
        if (x->opts.image && x->format == FORMAT_OCI_SECCOMP) {
                log_error("--image does not apply to --format oci-seccomp.");
                return -CTL_E_USAGE;
        }
        if (x->opts.seccomp_profile && x->format == FORMAT_OCI_SECCOMP) {
                log_error("--seccomp-profile does not apply to --format oci-seccomp (it is the profile).");
                return -CTL_E_USAGE;
        }
        return 0;
}

/* Finds NAME on the search path and loads it with the generator's code; its
 * problems are logged with file, line, section and key. Returns 0,
 * -CTL_E_USAGE for an invalid name, -CTL_E_UNKNOWN when no definition has
 * it, or another negative errno (logged). */
static int load_agent(const char *name, Agent **ret) {
        _cleanup_strv_free_ char **path = NULL;
        AgentSource *sources = NULL;
        size_t n = 0;
        Report quiet = { .quiet = true }, report = {};
        int r;

        if (!agent_name_is_valid(name)) {
                log_error("'%s' is not a valid agent name.", name);
                return -CTL_E_USAGE;
        }
        r = definitions_search_path(&path);
        if (r < 0)
                return ctl_plain_failure(r); /* logged */
        /* Other definitions' problems are not this command's business. */
        r = definitions_discover(path, &quiet, &sources, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to discover agent definitions: %m"), ctl_plain_failure(r);

        r = -CTL_E_UNKNOWN;
        for (size_t i = 0; i < n; i++) {
                if (!streq(sources[i].name, name))
                        continue;
                r = agent_load(name, sources[i].main_path, sources[i].dropins, sources[i].n_dropins, &report, ret);
                if (r == AGENT_MASKED) {
                        log_error("Agent '%s' is masked (%s): nothing to export.", name, sources[i].main_path);
                        r = -EIO;
                } else if (r < 0 || report.n_errors > 0) {
                        log_error("The definition of agent '%s' has errors (see above and 'agentctl verify').", name);
                        r = -EIO;
                } else
                        r = 0;
                break;
        }
        if (r == -CTL_E_UNKNOWN)
                log_error("No agent '%s' is defined (no %s.agent on the search path; see 'agentctl verify').", name,
                          name);
        agent_sources_free(sources, n);
        return r;
}

static int render_kubernetes(const Agent *a, const ExportArgs *x, Buffer *out) {
        json_object *tree = NULL;
        int r;

        r = export_kube_build(a, &x->opts, &tree);
        if (r < 0)
                return r;
        r = export_tree_check_utf8(tree);
        if (r >= 0 && x->json) {
                const char *s = json_object_to_json_string_ext(tree, JSON_C_TO_STRING_PRETTY |
                                                                             JSON_C_TO_STRING_SPACED |
                                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!s)
                        r = -ENOMEM;
                else
                        buffer_printf(out, "%s\n", s);
        } else if (r >= 0) {
                Buffer lost = {};
                json_object *items = json_object_object_get(tree, "items");

                buffer_printf(out, "# agentctl export %s --format kubernetes: a Pod that meets the \"restricted\"\n"
                                   "# Pod Security Standard and its NetworkPolicy. Install the seccomp profile\n"
                                   "# (agentctl export %s --format oci-seccomp) at the kubelet's seccomp root as the\n"
                                   "# localhostProfile below names it, load the AppArmor profile %s on every\n"
                                   "# node, create the Secret %s-secrets if the agent has secrets. hostUsers: false\n"
                                   "# and appArmorProfile need Kubernetes 1.30 or later (user namespaces: the\n"
                                   "# UserNamespacesSupport feature, on by default from 1.33, and a runtime with it).\n",
                              a->name, a->name, EXPORT_APPARMOR_PROFILE, a->name);
                r = export_kube_egress_summary(a, &lost);
                for (char *line = lost.data, *nl; r >= 0 && line && (nl = strchr(line, '\n')); line = nl + 1)
                        buffer_printf(out, "# %.*s\n", (int) (nl - line), line);
                buffer_done(&lost);
                buffer_printf(out, "# What Kubernetes cannot express (also in the annotation %s):\n",
                              EXPORT_KUBE_ANNOTATION);
                if (r >= 0)
                        r = export_kube_not_expressed(a, &lost);
                for (char *line = lost.data, *nl; r >= 0 && line && (nl = strchr(line, '\n')); line = nl + 1)
                        buffer_printf(out, "# - %.*s\n", (int) (nl - line), line);
                buffer_done(&lost);
                for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++)
                        r = yaml_write_document(out, json_object_array_get_idx(items, i));
        }
        json_object_put(tree);
        return r < 0 ? r : buffer_status(out);
}

static int render_seccomp(const Agent *a, Buffer *out) {
        _cleanup_fclose_ FILE *f = NULL;
        char *data = NULL;
        size_t size = 0;
        int r;

        f = open_memstream(&data, &size);
        if (!f)
                return -ENOMEM;
        r = seccomp_policy_write_oci_json_extra(f, a->system_calls, a->system_calls ? strv_length(a->system_calls) : 0);
        if (fclose(TAKE_PTR(f)) != 0 && r >= 0)
                r = -ENOMEM;
        if (r >= 0)
                buffer_put(out, data, size);
        free(data);
        return r < 0 ? r : buffer_status(out);
}

int verb_export(int argc, char *argv[]) {
        _cleanup_agent_free_ Agent *a = NULL;
        ExportArgs x = {};
        Buffer out = {};
        int r;

        r = parse_args(argc, argv, &x);
        if (r != 0)
                return r == 1 ? 0 : r;
        r = load_agent(x.name, &a);
        if (r < 0)
                return r;

        if (x.format == FORMAT_KUBERNETES)
                r = render_kubernetes(a, &x, &out);
        else if (x.format == FORMAT_DOCKER)
                r = export_docker(a, &x.opts, &out);
        else
                r = render_seccomp(a, &out);

        if (r == -EINVAL && !x.opts.image && a->image[0] == '/')
                log_error("%s: [Agent] Image=%s is a host path another engine cannot pull: give --image REF.",
                          a->source_path, a->image);
        else if (r == -EILSEQ)
                log_error("%s: the definition holds text that is not valid UTF-8; a manifest cannot carry it.",
                          a->source_path);
        else if (r < 0)
                log_error_errno(r, "Failed to export agent '%s': %m", a->name);
        if (r >= 0 && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
                log_error("Failed to write the output.");
                r = -EIO;
        }
        buffer_done(&out);
        /* What went wrong with the definition or the output is a failure
         * (status 1), whatever errno carried it: -EINVAL above is not a
         * usage error. */
        return r < 0 ? ctl_plain_failure(r) : 0;
}
