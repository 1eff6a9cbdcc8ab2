/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Image references in the containers-transports(5) syntax that Image= takes
 * besides a local tree or image file:
 *
 *   docker://HOST[:PORT]/REPO@sha256:HEX   a registry image, pinned by digest
 *   oci:/ABS/DIR[:NAME]                     an OCI image layout
 *   oci-archive:/ABS/FILE.tar[:NAME]        a tar of an OCI image layout
 *   docker-archive:/ABS/FILE.tar            a `docker save` archive
 *
 * Strict on purpose: printable ASCII without spaces only, an explicit
 * registry host, lowercase repository components, a digest and never a tag
 * alone (a tag can be moved to other content), normalised absolute paths
 * without ':' (the transports split at it), bounds from agent-limits.h. */

#include <stdbool.h>
#include <stddef.h>

typedef enum ImageRefTransport {
        IMAGE_REF_DOCKER,
        IMAGE_REF_OCI,
        IMAGE_REF_OCI_ARCHIVE,
        IMAGE_REF_DOCKER_ARCHIVE,
        _IMAGE_REF_TRANSPORT_MAX,
} ImageRefTransport;

/* "sha256:" + 64 lowercase hex digits + NUL */
#define IMAGE_REF_DIGEST_STRING_MAX (7 + 64 + 1)

typedef struct ImageRef {
        ImageRefTransport transport;
        char *host;   /* docker: HOST[:PORT] */
        char *repo;   /* docker: the repository path */
        char digest[IMAGE_REF_DIGEST_STRING_MAX]; /* docker: sha256:HEX, else "" */
        char *path;   /* local transports: the absolute path */
        char *name;   /* oci:, oci-archive: the NAME after ':', or NULL */
} ImageRef;

/* True if S starts with one of the transport prefixes above (or any
 * "WORD://"): then it is meant as a reference and image_ref_parse() decides. */
bool image_ref_has_transport(const char *s);

/* Parses S. Returns 0, -EINVAL with a static reason in *ret_why (for the
 * generator's message and the runtime's log), or -ENOMEM. */
int image_ref_parse(const char *s, ImageRef *ret, const char **ret_why);

void image_ref_done(ImageRef *r);

const char *image_ref_transport_name(ImageRefTransport t);
