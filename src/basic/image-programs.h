/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one table of programs the approved-image policy refuses by file name
 * (src/runtime/image/image-policy.c), shared with the definition check of
 * [Agent] ImageAllow= (src/definition/schema.c): the generator refuses an
 * exception the start would never grant, from the same rows.
 *
 * Each row is a class. Only the interpreter rows are exceptable: an agent
 * written in Python or JavaScript needs its interpreter, and a definition may
 * name that one file with ImageAllow=. Shells, network tools, package
 * managers and compilers are never exceptable: nothing an agent is written in
 * needs them at run time, and each one widens what a payload can do. */

#include <stdbool.h>

typedef enum ImageProgramClass {
        IMAGE_PROGRAM_SHELL,
        IMAGE_PROGRAM_NETWORK_TOOL,
        IMAGE_PROGRAM_PACKAGE_MANAGER,
        IMAGE_PROGRAM_COMPILER,
        IMAGE_PROGRAM_INTERPRETER,
        _IMAGE_PROGRAM_CLASS_MAX,
} ImageProgramClass;

typedef struct ImageProgram {
        const char *pattern;    /* fnmatch(3) on the file name */
        ImageProgramClass class;
        const char *reason;     /* static text, "a shell", "an interpreter", … */
} ImageProgram;

/* The first row whose pattern matches the file name NAME (no '/'), or NULL. */
const ImageProgram *image_program_match(const char *name);

/* Whether a row of this class may be lifted with ImageAllow=. */
bool image_program_class_exceptable(ImageProgramClass c);

/* The last component of PATH (after the last '/'); PATH itself if it has none. */
const char *image_path_file_name(const char *path);

/* What the policy makes of one [Agent] ImageAllow= path. */
typedef enum ImageAllowVerdict {
        IMAGE_ALLOW_OK,           /* its file name is an interpreter's: the exception may be granted */
        IMAGE_ALLOW_NOT_ABSOLUTE, /* not a normalised absolute path of printable ASCII below IMAGE_PATH_MAX */
        IMAGE_ALLOW_NEVER,        /* a shell, network tool, package manager or compiler: never */
        IMAGE_ALLOW_NOT_REFUSED,  /* the policy does not refuse that name: nothing to except */
        _IMAGE_ALLOW_VERDICT_MAX,
} ImageAllowVerdict;

/* Judges PATH by its form and its file name only (what the file is can only
 * be seen at start: image-policy.c still refuses an allowed file that is
 * setuid, setgid, a device or carries capabilities). *ret_program (if not
 * NULL) is the matching row or NULL. */
ImageAllowVerdict image_allow_check(const char *path, const ImageProgram **ret_program);

/* One line for a refusal, e.g. "a shell is never allowed, not even with ImageAllow=". */
const char *image_allow_verdict_to_string(ImageAllowVerdict v);
