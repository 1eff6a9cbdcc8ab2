/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "agent-limits.h"
#include "report.h"

/* Loading one definition file (a NAME.agent or a drop-in).
 *
 * The file is read once. A strict line check goes over every line and fills
 * iniparser's dictionary (its public dictionary API) with what it found, so
 * the values are exactly what the operator wrote: iniparser_load() on its own
 * would cut a value at ';' or '#', drop text after a closing quote, join lines
 * ending in '\', and accept keys outside a section; each of those is an error
 * here, reported with file and line. The file rules:
 *
 *   - a regular file (or a symlink to one) of at most INI_FILE_MAX bytes;
 *   - UTF-8 without NUL or control characters (tab allowed); an initial UTF-8
 *     byte order mark is skipped; lines end in LF or CRLF;
 *   - lines of at most INI_LINE_MAX bytes;
 *   - comments are whole lines starting with '#' or ';';
 *   - "[Section]" headers, "Key=Value" lines; names are case-insensitive;
 *   - a value wholly enclosed in one pair of quotes loses them ("x" is x);
 *   - a key may appear once per file (a later file may override it).
 *
 * A symlink to /dev/null or an empty file is a mask (INI_MASKED). */

#define INI_FILE_MAX DEFINITION_FILE_MAX
#define INI_LINE_MAX DEFINITION_LINE_MAX

typedef struct IniEntry {
        const char *section;  /* as written in the file (points into its text) */
        const char *key;      /* as written in the file (points into its text) */
        const char *value;    /* iniparser's value (points into its dictionary) */
        unsigned line;
} IniEntry;

typedef struct _dictionary_ dictionary;

typedef struct IniFile {
        char *path;
        char *text;         /* the file's bytes, names and values NUL-terminated */
        dictionary *dict;   /* iniparser's dictionary of the entries */
        IniEntry *entries;
        size_t n_entries;
} IniFile;

enum {
        INI_LOADED = 0,
        INI_MASKED = 1,
};

/* Returns INI_LOADED with *ret set, INI_MASKED, or a negative errno after
 * reporting the reason to r. */
int ini_file_load(const char *path, Report *r, IniFile **ret);
/* The same for file in the directory dir_fd (AT_FDCWD: file is a path);
 * path names it in messages. Opening relative to a directory that is open
 * already spares the kernel the walk of the whole path. */
int ini_file_load_at(int dir_fd, const char *file, const char *path, Report *r, IniFile **ret);
IniFile *ini_file_free(IniFile *f);
static inline void ini_file_freep(IniFile **f) {
        ini_file_free(*f);
}
#define _cleanup_ini_file_free_ __attribute__((cleanup(ini_file_freep)))

/* For messages: a copy of s safe to print (control characters shown as '?',
 * long values shortened with "…"). Writes into buf. */
const char *printable_excerpt(const char *s, char *buf, size_t size);
