/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agentctl export NAME --format kubernetes|oci-seccomp|docker: the agent's
 * floor carried to another engine. Everything here reads a validated Agent
 * (src/definition) and writes text; nothing talks to systemd.
 *
 *   export.c         the verb: options, loading the definition, output
 *   export-kube.c    the Pod and NetworkPolicy as a json-c tree, and the table
 *                    that says, for every definition key, what Kubernetes
 *                    carries and what it cannot
 *   export-yaml.c    YAML over the same json-c tree (every string a
 *                    double-quoted scalar), and the UTF-8 check of the tree
 *   export-docker.c  the `docker run` command line, shell-quoted */

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "agent.h"
#include "buffer.h"

/* argv[0] is "export". Logs what goes wrong and returns 0 or a negative
 * errno: -CTL_E_USAGE for the command line, -CTL_E_UNKNOWN for an agent
 * without a definition, any other errno for a failure (ctl-util.h); main()
 * maps it to the exit status like every verb's. */
int verb_export(int argc, char *argv[]);

typedef struct ExportOptions {
        const char *image;           /* the image reference; NULL: from Image= */
        const char *seccomp_profile; /* where the exported oci-seccomp profile is; NULL: the default */
} ExportOptions;

/* The default place of the exported seccomp profile: for Kubernetes relative
 * to the kubelet's seccomp root (/var/lib/kubelet/seccomp), for docker
 * relative to the directory docker is run in. */
#define EXPORT_KUBE_PROFILE_FMT "agentcage/%s.json"
#define EXPORT_DOCKER_PROFILE_FMT "%s.seccomp.json"
/* The AppArmor profile the floor confines agents with (apparmor/). */
#define EXPORT_APPARMOR_PROFILE "agentcage-agent"
/* The annotation that carries, in JSON too, what Kubernetes cannot express. */
#define EXPORT_KUBE_ANNOTATION "agentcage.io/not-expressed"

/* The image reference the export names: o->image, or Image= when it is a
 * name. A host path cannot be pulled by another engine: -EINVAL then (the
 * caller says to give --image). */
int export_image_ref(const Agent *a, const ExportOptions *o, const char **ret);

/* How Kubernetes carries one definition key: where it is mapped (NULL: not at
 * all) and what it cannot express (NULL: nothing lost). Every key of the
 * schema table has a row; at least one of the two is set. Returns false for a
 * key without a row. */
bool export_kube_key(const char *section, const char *key, const char **ret_mapped, const char **ret_lost);

/* Writes, one line each (without '#'), everything the manifest does not
 * carry: the lost part of every key, then what the floor has beyond its keys. */
int export_kube_not_expressed(const Agent *a, Buffer *b);

/* The NetworkPolicy that stands for Network= and [Egress]: Network=none
 * denies all ingress and egress (NAME-deny-all), Network=private all ingress
 * (NAME-deny-ingress); with [Egress] (NAME-egress) it allows DNS to kube-dns
 * and TCP to the ports of Allow= on public addresses: 0.0.0.0/0 and ::/0
 * except every range agentcage's proxy refuses to connect to. */
int export_kube_network_policy(const Agent *a, json_object **ret);

/* For an agent with [Egress]: what its NetworkPolicy allows and why, one
 * line each (without '#'), for the header of the YAML; nothing otherwise. */
int export_kube_egress_summary(const Agent *a, Buffer *b);

/* The manifest: a v1 List of the Pod and its NetworkPolicy. */
int export_kube_build(const Agent *a, const ExportOptions *o, json_object **ret);

/* 0 if every string (and key) in the tree is valid UTF-8, else -EILSEQ. */
int export_tree_check_utf8(json_object *o);

/* Writes a string as a YAML double-quoted scalar: JSON escapes, plus every
 * character YAML does not allow raw or reads as a line break (C0, DEL, C1,
 * U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF) escaped. -EILSEQ for invalid UTF-8. */
int yaml_quote(Buffer *b, const char *s);

/* Writes o as one YAML document (a mapping or a sequence at the top). */
int yaml_write_document(Buffer *b, json_object *o);

/* Appends s quoted for a POSIX shell (unquoted when it is a safe word). */
void shell_quote(Buffer *b, const char *s);

/* The docker run command line with its comment header. */
int export_docker(const Agent *a, const ExportOptions *o, Buffer *b);
