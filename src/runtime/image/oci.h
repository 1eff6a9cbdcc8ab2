/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Images from the container ecosystem (docs/DESIGN.md, "Images"): an Image=
 * reference (image-ref.h) is copied by skopeo under the site's trust policy
 * into a private OCI layout, unpacked by umoci as an unprivileged uid that
 * owns nothing else, checked by the approved-image policy and the site's scan
 * hook, and made into a read-only squashfs file once per digest in the cache
 * directory. Every agent using the digest mounts that same file. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "image-ref.h"

/* Where the cache lives ($AGENTCAGE_OCI_DIR moves it for tests). */
#define OCI_CACHE_DIR_DEFAULT "/var/lib/agents/oci"
/* The trust policy, containers-policy.json(5) ($AGENTCAGE_OCI_POLICY). */
#define OCI_POLICY_DEFAULT "/etc/agentcage/policy.json"
/* Optional site scan hook, run on every unpacked tree ($AGENTCAGE_SCAN_HOOK). */
#define OCI_SCAN_HOOK_DEFAULT "/etc/agentcage/scan-hook"
/* Optional registry credentials, containers-auth.json(5). */
#define OCI_AUTH_FILE_DEFAULT "/etc/agentcage/auth.json"
/* The uid and gid umoci unpacks as: owned by no account, so that a hostile
 * layer can only write where this id may, which is the one work directory
 * made for it. */
#define OCI_UNPACK_UID ((uid_t) 2147483646)
/* Bounds on what one pull may cost. */
#define OCI_COMMAND_TIMEOUT_SEC 900
#define OCI_FILE_SIZE_MAX (8ULL << 30)
/* What of a helper's output is kept for the log. */
#define OCI_OUTPUT_MAX (16U * 1024U)

/* --- running the helpers (oci-run.c) ------------------------------------- */

typedef struct OciCommand {
        char *const *argv;     /* argv[0] is an absolute path */
        int cwd_fd;            /* directory to run in, or -1 for / */
        bool unprivileged;     /* as OCI_UNPACK_UID, no groups, no capabilities, no network */
} OciCommand;

/* Runs the command with /dev/null as stdin and a clean environment, waits
 * (killing it after OCI_COMMAND_TIMEOUT_SEC) and returns its exit status
 * (0-255, or 128+signal), its stdout and stderr merged into *ret_output
 * (NUL-terminated, at most OCI_OUTPUT_MAX bytes, control bytes replaced by
 * '?'), or -errno. Does not log. */
int oci_run(const OciCommand *c, char **ret_output);

/* --- the cache (oci-cache.c) --------------------------------------------- */

typedef struct OciEntry {
        char digest[IMAGE_REF_DIGEST_STRING_MAX]; /* the key: sha256:HEX */
        char **references;  /* NULL-terminated: every reference that resolved to it */
        char **sources;     /* NULL-terminated: sha256 of the archive files it was made from */
        uint64_t size;      /* of the image file, bytes */
        uint64_t created;   /* CLOCK_REALTIME µs */
        uint64_t last_used; /* CLOCK_REALTIME µs */
        char *image_path;   /* the squashfs file */
} OciEntry;

const char *oci_cache_dir(void);
/* "sha256:HEX" -> "sha256-HEX", the file name stem of an entry. */
void oci_digest_stem(const char *digest, char ret[static IMAGE_REF_DIGEST_STRING_MAX]);
/* Takes the per-digest lock (flock on DIR/locks/STEM.lock), waiting for a
 * concurrent pull of the same digest to end. Returns the fd or -errno;
 * -EROFS where the cache cannot be written (inside an agent's sandbox):
 * entries can then only be read. */
int oci_cache_lock(const char *digest);
/* Looks up DIGEST: 1 and the entry if its image file exists, 0 if not. */
int oci_cache_get(const char *digest, OciEntry *ret);
/* Writes the metadata of E atomically (temp file + rename). */
int oci_cache_write_meta(const OciEntry *e);
/* Adds REFERENCE and SOURCE (if given and new) and sets last_used to now. */
int oci_cache_touch(OciEntry *e, const char *reference, const char *source);
/* The entry made from archive file digest SOURCE under REFERENCE: 1 and the
 * entry, or 0. */
int oci_cache_find_source(const char *reference, const char *source, OciEntry *ret);
/* Every entry whose image file exists, sorted by digest. */
int oci_cache_list(OciEntry **ret, size_t *ret_n);
/* Removes the entry's image file, metadata and lock. */
int oci_cache_remove(const char *digest);
/* Removes what a crash can leave: temp files of entries, metadata without an
 * image, work directories of pulls, all older than MIN_AGE_SEC (so that a
 * pull under way keeps its files). Returns how many went, or -errno. */
int oci_cache_clean_stale(unsigned min_age_sec);
void oci_entry_done(OciEntry *e);
void oci_entries_free(OciEntry *e, size_t n);
/* True if the definition's Image= value REFERENCE names entry E: one of the
 * references it was accepted under. */
bool oci_entry_matches(const OciEntry *e, const char *reference);

/* --- provisioning (oci.c) ------------------------------------------------ */

/* Resolves REFERENCE to the cached read-only image file, pulling, checking
 * and caching it first if needed. Returns 0 and the path (malloc()ed), or
 * -errno after logging why (a refusal by the trust policy, the approved-image
 * policy or the scan hook is -EPERM). */
int oci_provision(const char *reference, char *const *allow, size_t n_allow, char **ret_image_file);
/* Removes NAME below DIR_FD with everything in it, never following a
 * symlink. */
int oci_remove_tree_at(int dir_fd, const char *name);
