/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image_ref_parse(): every accepted form, and every refusal with its reason. */

#include <errno.h>
#include <string.h>

#include "image-ref.h"
#include "macro.h"
#include "tap.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void good(const char *s, ImageRefTransport t, const char *host, const char *repo, const char *path,
                 const char *name) {
        _cleanup_(image_ref_done) ImageRef r = {};
        const char *why = NULL;
        int k = image_ref_parse(s, &r, &why);

        CHECK_MSG(k == 0, "accepts %s (%s)", s, why ? why : "-");
        if (k < 0)
                return;
        CHECK_MSG(r.transport == t, "%s: transport %s", s, image_ref_transport_name(t));
        CHECK_MSG(image_ref_has_transport(s), "%s: has a transport", s);
        if (host)
                CHECK_STREQ(r.host, host);
        if (repo) {
                CHECK_STREQ(r.repo, repo);
                CHECK_STREQ(r.digest, "sha256:" D64);
        }
        if (path)
                CHECK_STREQ(r.path, path);
        if (name)
                CHECK_STREQ(r.name, name);
        else
                CHECK_MSG(!r.name, "%s: no name", s);
}

static void bad(const char *s, const char *reason_part) {
        ImageRef r = {};
        const char *why = NULL;
        int k = image_ref_parse(s, &r, &why);

        CHECK_MSG(k == -EINVAL, "refuses %s", s);
        CHECK_MSG(why && strstr(why, reason_part), "%s: reason '%s' mentions '%s'", s, why ? why : "(none)",
                  reason_part);
        CHECK_MSG(!r.host && !r.repo && !r.path && !r.name, "%s: nothing left allocated", s);
}

int main(void) {
        char longpath[700], longrepo[400];

        good("docker://registry.example.com/team/agent@sha256:" D64, IMAGE_REF_DOCKER, "registry.example.com",
             "team/agent", NULL, NULL);
        good("docker://127.0.0.1:5000/agentcage/demo@sha256:" D64, IMAGE_REF_DOCKER, "127.0.0.1:5000",
             "agentcage/demo", NULL, NULL);
        good("docker://localhost/a.b_c__d--e/f@sha256:" D64, IMAGE_REF_DOCKER, "localhost", "a.b_c__d--e/f",
             NULL, NULL);
        good("oci:/srv/images/demo", IMAGE_REF_OCI, NULL, NULL, "/srv/images/demo", NULL);
        good("oci:/srv/images/demo:v1.2_rc-3", IMAGE_REF_OCI, NULL, NULL, "/srv/images/demo", "v1.2_rc-3");
        good("oci-archive:/srv/demo.tar", IMAGE_REF_OCI_ARCHIVE, NULL, NULL, "/srv/demo.tar", NULL);
        good("oci-archive:/srv/demo.tar:latest", IMAGE_REF_OCI_ARCHIVE, NULL, NULL, "/srv/demo.tar", "latest");
        good("docker-archive:/srv/demo.tar", IMAGE_REF_DOCKER_ARCHIVE, NULL, NULL, "/srv/demo.tar", NULL);

        /* a tag is never enough */
        bad("docker://registry.example.com/team/agent:latest", "pinned by digest");
        bad("docker://registry.example.com/team/agent", "pinned by digest");
        bad("docker://registry.example.com/team/agent:v1@sha256:" D64, "without a tag");
        /* the digest */
        bad("docker://r.example.com/a@sha512:" D64, "sha256:");
        bad("docker://r.example.com/a@sha256:" D64 "00", "64 lowercase hex");
        bad("docker://r.example.com/a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "64 lowercase hex");
        /* the host */
        bad("docker://library/alpine@sha256:" D64, "explicit");
        bad("docker:///alpine@sha256:" D64, "host is missing");
        bad("docker://-r.example.com/a@sha256:" D64, "letters, digits");
        bad("docker://r..example.com/a@sha256:" D64, "empty label");
        bad("docker://r.example.com:0/a@sha256:" D64, "1 to 65535");
        bad("docker://r.example.com:65536/a@sha256:" D64, "1 to 65535");
        bad("docker://r.example.com:/a@sha256:" D64, "port");
        bad("docker://r_x.example.com/a@sha256:" D64, "letters, digits");
        bad("docker://user@r.example.com/a@sha256:" D64, "letters, digits");
        bad("docker://r.example.com@sha256:" D64, "expected docker://");
        /* the repository */
        bad("docker://r.example.com/Team/a@sha256:" D64, "lowercase");
        bad("docker://r.example.com/a//b@sha256:" D64, "components");
        bad("docker://r.example.com/a/@sha256:" D64, "components");
        bad("docker://r.example.com/a/../b@sha256:" D64, "components");
        bad("docker://r.example.com/a..b@sha256:" D64, "joins components");
        bad("docker://r.example.com/a___b@sha256:" D64, "joins components");
        bad("docker://r.example.com/a-.b@sha256:" D64, "joins components");
        bad("docker://r.example.com/a@@sha256:" D64, "sha256:");
        memset(longrepo, 'a', sizeof longrepo);
        memcpy(longrepo, "docker://r.example.com/", 23);
        snprintf(longrepo + 300, sizeof longrepo - 300, "@sha256:%s", D64);
        bad(longrepo, "255");
        /* bytes */
        bad("docker://r.example.com/a b@sha256:" D64, "printable ASCII");
        bad("oci:/srv/a\tb", "printable ASCII");
        bad("oci:/srv/\x1b[31m", "printable ASCII");
        bad("oci:/srv/\xc3\xa9", "printable ASCII");
        bad("", "empty");
        /* local paths */
        bad("oci:srv/demo", "absolute");
        bad("oci:/srv/../etc", "normalised");
        bad("oci:/srv//demo", "normalised");
        bad("oci:/srv/demo/", "normalised");
        bad("oci:/", "not '/'");
        bad("oci:", "missing");
        bad("oci:/srv/demo:", "NAME");
        bad("oci:/srv/demo:-x", "NAME");
        bad("oci:/srv/demo:a:b", "NAME");
        bad("oci:/srv/demo:a/b", "NAME");
        bad("oci-archive:/srv/demo", "FILE.tar");
        bad("oci-archive:/srv/.tar", "FILE.tar");
        bad("docker-archive:/srv/demo.tar:x", "path only");
        bad("docker-archive:/srv/demo.tgz", "FILE.tar");
        memset(longpath, 'a', sizeof longpath);
        memcpy(longpath, "oci:/", 5);
        longpath[sizeof longpath - 1] = '\0';
        bad(longpath, "512");
        /* transports we do not take */
        bad("containers-storage:demo", "unknown transport");
        bad("dir:/srv/demo", "unknown transport");
        bad("docker-daemon:demo:latest", "unknown transport");
        bad("https://r.example.com/a", "unknown transport");
        CHECK(image_ref_has_transport("dir:/srv/demo"));
        CHECK(!image_ref_has_transport("/srv/demo"));
        CHECK(!image_ref_has_transport("demo.raw"));
        CHECK(!image_ref_has_transport("Demo:x"));

        return tap_finish();
}
