/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of containers-transports(5) references (image-ref.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-limits.h"
#include "image-ref.h"
#include "macro.h"
#include "parse-value.h"

static const char *const transport_prefix[_IMAGE_REF_TRANSPORT_MAX] = {
        [IMAGE_REF_DOCKER] = "docker://",
        [IMAGE_REF_OCI] = "oci:",
        [IMAGE_REF_OCI_ARCHIVE] = "oci-archive:",
        [IMAGE_REF_DOCKER_ARCHIVE] = "docker-archive:",
};

const char *image_ref_transport_name(ImageRefTransport t) {
        static const char *const names[_IMAGE_REF_TRANSPORT_MAX] = {
                [IMAGE_REF_DOCKER] = "docker",
                [IMAGE_REF_OCI] = "oci",
                [IMAGE_REF_OCI_ARCHIVE] = "oci-archive",
                [IMAGE_REF_DOCKER_ARCHIVE] = "docker-archive",
        };
        return t >= 0 && t < _IMAGE_REF_TRANSPORT_MAX ? names[t] : NULL;
}

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool image_ref_has_transport(const char *s) {
        const char *p;

        for (size_t i = 0; i < _IMAGE_REF_TRANSPORT_MAX; i++)
                if (strncmp(s, transport_prefix[i], strlen(transport_prefix[i])) == 0)
                        return true;
        /* Any other "word:" prefix (containers-storage:, dir:, docker-daemon:,
         * http://…) is a transport we do not take: the parser says so rather
         * than the image-name check calling it a bad name. */
        p = strchr(s, ':');
        if (!p || p == s || s[0] == '/')
                return false;
        for (const char *q = s; q < p; q++)
                if (!is_lower_alnum(*q) && *q != '-')
                        return false;
        return true;
}

void image_ref_done(ImageRef *r) {
        free(r->host);
        free(r->repo);
        free(r->path);
        free(r->name);
        *r = (ImageRef) {};
}

/* HOST[:PORT]: DNS labels of letters, digits and '-' (not at either end)
 * separated by '.', or "localhost"; an optional port 1-65535. It must look
 * like a host (a '.', a port or "localhost"): "docker://library/x" would
 * otherwise silently mean docker.io. */
static int parse_host(const char *s, size_t n, const char **why) {
        const char *colon = memchr(s, ':', n);
        size_t hn = colon ? (size_t) (colon - s) : n;
        bool dot = false;

        if (n == 0 || n > IMAGE_REF_HOST_MAX || hn == 0)
                return *why = "the registry host is missing or too long", -EINVAL;
        for (size_t i = 0, label = 0; i < hn; i++) {
                char c = s[i];
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-' || i + 1 == hn)
                                return *why = "the registry host has an empty label or one ending in '-'", -EINVAL;
                        dot = true;
                        label = 0;
                        continue;
                }
                if (!is_alnum(c) && !(c == '-' && label > 0))
                        return *why = "the registry host may hold only letters, digits, '-' and '.'", -EINVAL;
                if (++label > 63)
                        return *why = "a label of the registry host is longer than 63 bytes", -EINVAL;
        }
        if (s[hn - 1] == '-')
                return *why = "the registry host ends in '-'", -EINVAL;
        if (colon) {
                size_t pn = n - hn - 1;
                unsigned long port = 0;

                if (pn == 0 || pn > 5)
                        return *why = "the registry port must be 1 to 65535", -EINVAL;
                for (size_t i = 0; i < pn; i++) {
                        if (colon[1 + i] < '0' || colon[1 + i] > '9')
                                return *why = "the registry port must be decimal digits", -EINVAL;
                        port = port * 10 + (unsigned long) (colon[1 + i] - '0');
                }
                if (port == 0 || port > 65535 || colon[1] == '0')
                        return *why = "the registry port must be 1 to 65535 without leading zeros", -EINVAL;
        }
        if (!dot && !colon && !(hn == 9 && strncmp(s, "localhost", 9) == 0))
                return *why = "the registry host must be explicit (a name with a '.', a HOST:PORT or localhost), "
                              "e.g. docker://registry.example.com/team/agent@sha256:…", -EINVAL;
        return 0;
}

/* The repository: components of [a-z0-9] joined by '.', '_', "__" or runs of
 * '-', separated by '/' (the distribution grammar). */
static int parse_repo(const char *s, size_t n, const char **why) {
        if (n == 0 || n > IMAGE_REF_REPO_MAX)
                return *why = "the repository is missing or longer than 255 bytes", -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool start = i == 0 || s[i - 1] == '/';
                bool end = i + 1 == n || s[i + 1] == '/';

                if (is_lower_alnum(c))
                        continue;
                if (c >= 'A' && c <= 'Z')
                        return *why = "the repository must be lowercase", -EINVAL;
                if (c == '/' && !start && !end)
                        continue;
                if ((c == '.' || c == '_' || c == '-') && !start && !end) {
                        char p = s[i - 1];
                        /* After a separator only "--…" and "__" go on. */
                        if (!is_lower_alnum(p) &&
                            !(c == '-' && p == '-') && !(c == '_' && p == '_' && (i < 2 || s[i - 2] != '_')))
                                return *why = "the repository joins components by one '.', one or two '_', "
                                              "or '-'s", -EINVAL;
                        continue;
                }
                return *why = "the repository components must be [a-z0-9] joined by '.', '_' or '-', "
                              "separated by '/'", -EINVAL;
        }
        return 0;
}

static int parse_digest(const char *s, char ret[static IMAGE_REF_DIGEST_STRING_MAX], const char **why) {
        if (strncmp(s, "sha256:", 7) != 0)
                return *why = "the digest must be sha256:", -EINVAL;
        if (strlen(s + 7) != 64)
                return *why = "the digest must be sha256: and 64 lowercase hex digits", -EINVAL;
        for (const char *p = s + 7; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return *why = "the digest must be sha256: and 64 lowercase hex digits", -EINVAL;
        memcpy(ret, s, IMAGE_REF_DIGEST_STRING_MAX);
        return 0;
}

static int parse_docker(const char *s, ImageRef *r, const char **why) {
        const char *slash = strchr(s, '/'), *at = strchr(s, '@');
        const char *repo, *colon;
        size_t repo_n;

        if (!slash)
                return *why = "expected docker://HOST[:PORT]/REPO@sha256:HEX", -EINVAL;
        if (parse_host(s, (size_t) (slash - s), why) < 0)
                return -EINVAL;
        repo = slash + 1;
        if (at && at < repo)
                return *why = "'@' in the registry host", -EINVAL;
        repo_n = at ? (size_t) (at - repo) : strlen(repo);
        colon = memchr(repo, ':', repo_n);
        if (colon && !at)
                return *why = "a registry image must be pinned by digest (REPO@sha256:HEX): "
                              "a tag alone names whatever the registry serves today", -EINVAL;
        if (colon)
                return *why = "give the digest without a tag (REPO@sha256:HEX): the transport "
                              "does not take both", -EINVAL;
        if (!at)
                return *why = "a registry image must be pinned by digest (REPO@sha256:HEX)", -EINVAL;
        if (parse_repo(repo, repo_n, why) < 0)
                return -EINVAL;
        if (parse_digest(at + 1, r->digest, why) < 0)
                return -EINVAL;
        r->host = strndup(s, (size_t) (slash - s));
        r->repo = strndup(repo, repo_n);
        if (!r->host || !r->repo)
                return -ENOMEM;
        return 0;
}

/* NAME of oci:DIR:NAME: [A-Za-z0-9] then [A-Za-z0-9._-], bounded. */
static bool ref_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > IMAGE_REF_NAME_MAX || !is_alnum(s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

static int parse_local(const char *s, ImageRef *r, const char **why) {
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t) (colon - s) : strlen(s);
        bool archive = r->transport != IMAGE_REF_OCI;

        if (colon && r->transport == IMAGE_REF_DOCKER_ARCHIVE)
                return *why = "docker-archive: takes a path only (no ':NAME' or '@INDEX')", -EINVAL;
        if (n == 0 || n > IMAGE_REF_PATH_MAX)
                return *why = "the path is missing or longer than 512 bytes", -EINVAL;
        r->path = strndup(s, n);
        if (!r->path)
                return -ENOMEM;
        if (!path_is_normalized_absolute(r->path) || streq(r->path, "/"))
                return *why = "the path must be absolute and normalised (no '.', '..', '//', trailing '/'; not '/')",
                       -EINVAL;
        if (archive && (n < 5 || !streq(r->path + n - 4, ".tar") || r->path[n - 5] == '/'))
                return *why = "an archive path must name a FILE.tar", -EINVAL;
        if (colon) {
                if (!ref_name_is_valid(colon + 1))
                        return *why = "the NAME after the path must be [A-Za-z0-9] then up to 127 of [A-Za-z0-9._-]",
                               -EINVAL;
                r->name = strdup(colon + 1);
                if (!r->name)
                        return -ENOMEM;
        }
        return 0;
}

int image_ref_parse(const char *s, ImageRef *ret, const char **ret_why) {
        _cleanup_(image_ref_done) ImageRef r = {};
        const char *why = NULL, *rest = NULL;
        size_t n = strlen(s);
        int k;

        if (n == 0 || n > IMAGE_REF_MAX) {
                *ret_why = "the reference is empty or longer than 768 bytes";
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f) {
                        *ret_why = "the reference may hold only printable ASCII without spaces";
                        return -EINVAL;
                }
        r.transport = _IMAGE_REF_TRANSPORT_MAX;
        for (size_t i = 0; i < _IMAGE_REF_TRANSPORT_MAX; i++)
                if (strncmp(s, transport_prefix[i], strlen(transport_prefix[i])) == 0) {
                        r.transport = (ImageRefTransport) i;
                        rest = s + strlen(transport_prefix[i]);
                }
        if (r.transport == _IMAGE_REF_TRANSPORT_MAX) {
                *ret_why = "unknown transport: expected docker://, oci:, oci-archive: or docker-archive:";
                return -EINVAL;
        }
        k = r.transport == IMAGE_REF_DOCKER ? parse_docker(rest, &r, &why) : parse_local(rest, &r, &why);
        if (k == -ENOMEM)
                return -ENOMEM;
        if (k < 0) {
                *ret_why = why;
                return k;
        }
        *ret = r;
        r = (ImageRef) {};
        return 0;
}
