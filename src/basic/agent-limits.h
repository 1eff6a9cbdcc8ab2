/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one set of limits. The schema table (src/definition/schema.c), the
 * runtime (src/runtime), agent-init (src/init) and agentctl take every bound
 * from here, so that what the generator accepts is exactly what the runtime
 * can do: a definition over a limit is refused at generation with a message,
 * never at start (and never by an allocation failure in the middle of a run).
 * Sizes are bytes, times are microseconds. */

#include <stdint.h>

#define LIMIT_KiB(n) ((uint64_t) (n) << 10)
#define LIMIT_MiB(n) ((uint64_t) (n) << 20)
#define LIMIT_GiB(n) ((uint64_t) (n) << 30)
#define LIMIT_TiB(n) ((uint64_t) (n) << 40)

/* --- names ----------------------------------------------------------------
 * Agent names: [a-z0-9] then up to 62 of [a-z0-9-], not ending in '-'. The
 * unit instance, the machine name, the dm-crypt mapping and the state
 * directory are all built from it. */
#define AGENT_NAME_MAX 63
/* A bare image name, looked up in the image directories. */
#define IMAGE_NAME_MAX 64
/* Secret names become file names under /run/secrets. */
#define SECRET_NAME_MAX 64
/* A credential ID names a file in a credstore. */
#define CREDENTIAL_ID_MAX 255

/* --- counts ---------------------------------------------------------------- */
#define SECRETS_MAX 64
#define EXEC_ARGS_MAX 256
#define HEALTH_CHECK_ARGS_MAX 64
#define ENVIRONMENT_MAX 128
#define EXTRA_SYSCALLS_MAX 64
#define DESCRIPTION_MAX 256
/* [Agent] ImageAllow=: policy exceptions for interpreters. An image needs one
 * or two (the interpreter and perhaps a versioned link); more means it holds
 * more runtimes than an agent should. */
#define IMAGE_ALLOW_MAX 8
/* A path inside the image, as ImageAllow= and --image-allow= take it. */
#define IMAGE_PATH_MAX 1024

/* --- sizes ----------------------------------------------------------------
 * A secret is a key, a token or a certificate, never bulk data: refusing
 * anything larger keeps the non-swappable copy small and stops a mistyped
 * source (a disk image, a log) from filling RAM. */
#define SECRET_SIZE_MAX (1024U * 1024U)
/* The workspace: a multiple of the dm-crypt sector size, at least big enough
 * for an ext4 with a few inodes (mkfs.ext4 manages 1 MiB), and never more than
 * the machine's RAM (checked at run time). */
#define WORKSPACE_SECTOR_SIZE 4096U
#define WORKSPACE_SIZE_MIN LIMIT_MiB(1)
#define WORKSPACE_SIZE_MAX LIMIT_GiB(64)
#define TMP_SIZE_MIN LIMIT_MiB(1)
#define TMP_SIZE_MAX LIMIT_GiB(16)
#define MEMORY_MIN LIMIT_MiB(16)
#define MEMORY_MAX_LIMIT LIMIT_TiB(1)
#define TASKS_MIN 1
#define TASKS_MAX_LIMIT 65536

/* Definition files: whole file and one line (ini.c's strict check). */
#define DEFINITION_FILE_MAX (64U * 1024U)
#define DEFINITION_LINE_MAX 1000U

/* --- image references (image-ref.h, containers-transports(5)) -------------
 * A whole reference; the registry host with its port (a DNS name is at most
 * 253 bytes); the repository path (distribution caps a name at 255); a local
 * path of an OCI layout or an archive; the optional OCI reference name of an
 * oci: or oci-archive: image. */
#define IMAGE_REF_MAX 768
#define IMAGE_REF_HOST_MAX 259
#define IMAGE_REF_REPO_MAX 255
#define IMAGE_REF_PATH_MAX 512
#define IMAGE_REF_NAME_MAX 128
