/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include "image-programs.h"
#include "agent-limits.h"
#include "macro.h"
#include "parse-value.h"

/* Programs are matched by file name anywhere in an image (a renamed copy of a
 * shell is not caught; that is what the seccomp allow-list, Landlock and
 * AppArmor are for). Order matters only for which reason is reported. */
static const ImageProgram programs[] = {
        /* shells and multi-call binaries that contain one */
        { "sh",       IMAGE_PROGRAM_SHELL,           "a shell" },
        { "bash",     IMAGE_PROGRAM_SHELL,           "a shell" },
        { "dash",     IMAGE_PROGRAM_SHELL,           "a shell" },
        { "zsh",      IMAGE_PROGRAM_SHELL,           "a shell" },
        { "ash",      IMAGE_PROGRAM_SHELL,           "a shell" },
        { "ksh",      IMAGE_PROGRAM_SHELL,           "a shell" },
        { "mksh",     IMAGE_PROGRAM_SHELL,           "a shell" },
        { "csh",      IMAGE_PROGRAM_SHELL,           "a shell" },
        { "tcsh",     IMAGE_PROGRAM_SHELL,           "a shell" },
        { "fish",     IMAGE_PROGRAM_SHELL,           "a shell" },
        { "busybox",  IMAGE_PROGRAM_SHELL,           "a shell (busybox)" },
        { "toybox",   IMAGE_PROGRAM_SHELL,           "a shell (toybox)" },
        /* network tools */
        { "curl",     IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "wget",     IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "nc",       IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "ncat",     IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "netcat",   IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "socat",    IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "nmap",     IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "dig",      IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "ssh",      IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        { "telnet",   IMAGE_PROGRAM_NETWORK_TOOL,    "a network tool" },
        /* package managers */
        { "apt",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "apt-get",  IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "dpkg",     IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "apk",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "pip",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "pip3*",    IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "npm",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "npx",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "rpm",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "dnf",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        { "yum",      IMAGE_PROGRAM_PACKAGE_MANAGER, "a package manager" },
        /* compilers */
        { "cc",       IMAGE_PROGRAM_COMPILER,        "a compiler" },
        { "gcc",      IMAGE_PROGRAM_COMPILER,        "a compiler" },
        { "clang",    IMAGE_PROGRAM_COMPILER,        "a compiler" },
        { "tcc",      IMAGE_PROGRAM_COMPILER,        "a compiler" },
        { "go",       IMAGE_PROGRAM_COMPILER,        "a compiler" },
        /* interpreters: refused unless the definition names the file */
        { "python",   IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "python2*", IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "python3*", IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "perl",     IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "ruby",     IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "node",     IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
        { "nodejs",   IMAGE_PROGRAM_INTERPRETER,     "an interpreter" },
};

const ImageProgram *image_program_match(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(programs); i++)
                if (fnmatch(programs[i].pattern, name, 0) == 0)
                        return programs + i;
        return NULL;
}

bool image_program_class_exceptable(ImageProgramClass c) {
        return c == IMAGE_PROGRAM_INTERPRETER;
}

const char *image_path_file_name(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

ImageAllowVerdict image_allow_check(const char *path, const ImageProgram **ret_program) {
        const ImageProgram *p;

        if (ret_program)
                *ret_program = NULL;
        if (!path || strnlen(path, IMAGE_PATH_MAX) >= IMAGE_PATH_MAX || !path_is_normalized_absolute(path) ||
            streq(path, "/"))
                return IMAGE_ALLOW_NOT_ABSOLUTE;
        for (const char *c = path; *c; c++)
                if ((unsigned char) *c <= 0x20 || (unsigned char) *c >= 0x7f || *c == ',')
                        return IMAGE_ALLOW_NOT_ABSOLUTE;

        p = image_program_match(image_path_file_name(path));
        if (ret_program)
                *ret_program = p;
        if (!p)
                return IMAGE_ALLOW_NOT_REFUSED;
        if (!image_program_class_exceptable(p->class))
                return IMAGE_ALLOW_NEVER;
        return IMAGE_ALLOW_OK;
}

const char *image_allow_verdict_to_string(ImageAllowVerdict v) {
        static const char *const s[_IMAGE_ALLOW_VERDICT_MAX] = {
                [IMAGE_ALLOW_OK] = "an interpreter, which ImageAllow= may allow",
                [IMAGE_ALLOW_NOT_ABSOLUTE] = "not a normalised absolute path inside the image (printable ASCII, no "
                                             "blanks or ',', no '.', '..', '//' or trailing '/')",
                [IMAGE_ALLOW_NEVER] = "never allowed, not even with ImageAllow= (only interpreters are)",
                [IMAGE_ALLOW_NOT_REFUSED] = "not a name the approved-image policy refuses; only interpreters "
                                            "(python3*, node, perl, ruby) need ImageAllow=",
        };
        return (unsigned) v < _IMAGE_ALLOW_VERDICT_MAX ? s[v] : "unknown";
}
