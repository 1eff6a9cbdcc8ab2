/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <iniparser.h>

#include "array.h"
#include "ini.h"
#include "log.h"
#include "parse-value.h"

const char *printable_excerpt(const char *s, char *buf, size_t size) {
        size_t i = 0, max = size > 8 ? size - 4 : 0;

        for (const unsigned char *p = (const unsigned char *) s; *p && i < max; p++)
                buf[i++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char) *p;
        if (i == max && s[i] != '\0' && size >= 4) {
                /* Do not cut a UTF-8 sequence in half. */
                while (i > 0 && ((unsigned char) buf[i] & 0xc0) == 0x80)
                        i--;
                memcpy(buf + i, "\xe2\x80\xa6", 3); /* … */
                i += 3;
        }
        buf[i] = '\0';
        return buf;
}

IniFile *ini_file_free(IniFile *f) {
        if (!f)
                return NULL;
        if (f->dict)
                iniparser_freedict(f->dict);
        free(f->entries);
        free(f->text);
        free(f->path);
        free(f);
        return NULL;
}

/* 1: may start a name (a letter), 2: may follow (letters, digits, '_', '-', '.'). */
static const unsigned char name_class[256] = {
        ['A' ... 'Z'] = 3, ['a' ... 'z'] = 3, ['0' ... '9'] = 2, ['_'] = 2, ['-'] = 2, ['.'] = 2,
};

static bool is_name(const char *s, size_t n) {
        if (n == 0 || n > 64 || !(name_class[(unsigned char) s[0]] & 1))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(name_class[(unsigned char) s[i]] & 2))
                        return false;
        return true;
}

static void trim(const char **b, const char **e) {
        while (*b < *e && (**b == ' ' || **b == '\t'))
                (*b)++;
        while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
                (*e)--;
}

/* Checks the bytes of the file. Returns the number of errors reported. */
static const bool plain_byte[256] = {
        ['\t'] = true, [0x20 ... 0x7e] = true,
};

static unsigned check_bytes(const char *path, const char *buf, size_t len, Report *r) {
        unsigned line = 1, errors = 0;

        for (size_t i = 0; i < len;) {
                unsigned char c;

                /* Most bytes are printable ASCII: skip eight at a time while
                 * none is below 0x20 or above 0x7e (tabs take the slow path,
                 * which allows them). */
                while (i + 8 <= len) {
                        uint64_t w;

                        memcpy(&w, buf + i, 8);
                        if (((w - UINT64_C(0x2020202020202020)) | (w + UINT64_C(0x0101010101010101)) | w) &
                            UINT64_C(0x8080808080808080))
                                break;
                        i += 8;
                }
                while (i < len && plain_byte[(unsigned char) buf[i]])
                        i++;
                if (i == len)
                        break;
                c = (unsigned char) buf[i];
                if (c == '\n') {
                        line++;
                        i++;
                        continue;
                }
                if (c == '\r' && i + 1 < len && buf[i + 1] == '\n') {
                        i++;
                        continue;
                }
                if (c == '\0') {
                        report_error(r, path, line, NULL, NULL, "NUL byte in file; definitions are text");
                        return errors + 1;
                }
                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        report_error(r, path, line, NULL, NULL,
                                     "control character 0x%02x; only printable UTF-8 and tabs are allowed", c);
                        return errors + 1;
                }
                if (c >= 0x80) {
                        /* Validate one UTF-8 sequence with the shared checker. */
                        char seq[5] = { 0 };
                        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

                        if (i + n > len)
                                n = len - i;
                        memcpy(seq, buf + i, n);
                        if (!string_is_printable_utf8(seq, false) || strlen(seq) != n) {
                                report_error(r, path, line, NULL, NULL, "invalid UTF-8; definitions must be UTF-8 text");
                                return errors + 1;
                        }
                        i += n;
                        continue;
                }
                i++;
        }
        return errors;
}

/* The state of the line check over one file. */
typedef struct LineParser {
        const char *path;
        Report *report;
        char *section;  /* the current section, NUL-terminated in the text */
        unsigned line, errors;
        IniEntry *entries;
        size_t n_entries, allocated;
} LineParser;

_printf_(4, 5) static void line_error(LineParser *p, const char *section, const char *key, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        report_error(p->report, p->path, p->line, section, key, "%s", msg);
        p->errors++;
}

/* "[Section]": b..e is the trimmed line. */
static void parse_section(LineParser *p, char *b, char *e) {
        char *sb = b + 1, *se = e - 1;

        p->section = NULL;
        if (e - b < 2 || *se != ']') {
                line_error(p, NULL, NULL, "section header without closing ']'");
                return;
        }
        trim((const char **) &sb, (const char **) &se);
        if (!is_name(sb, (size_t) (se - sb))) {
                line_error(p, NULL, NULL, "invalid section name; expected letters and digits in [brackets]");
                return;
        }
        *se = '\0';
        p->section = sb;
}

/* What the INI format would alter must be refused, never passed on. vb..ve
 * is the trimmed value; on success it is the value without its quotes. */
static bool check_value(LineParser *p, const char *key, char **vb, char **ve) {
        const char *bad = memchr(*vb, '#', (size_t) (*ve - *vb));
        const char *semi = memchr(*vb, ';', (size_t) (*ve - *vb));

        if (!bad || (semi && semi < bad))
                bad = semi;
        if (bad) {
                line_error(p, p->section, key,
                           "value contains '%c', which the INI format reads as the start of a comment; "
                           "'#' and ';' cannot appear in values", *bad);
                return false;
        }
        if (*ve > *vb && (**vb == '"' || **vb == '\'')) {
                char q = **vb;
                if (*ve - *vb < 2 || (*ve)[-1] != q || memchr(*vb + 1, q, (size_t) (*ve - *vb - 2))) {
                        line_error(p, p->section, key,
                                   "a value that begins with a quote must be one quoted string "
                                   "(the quotes are removed); here text follows the closing quote or it is missing");
                        return false;
                }
                (*vb)++;
                (*ve)--;
        }
        return true;
}

static int add_entry(LineParser *p, char *key, char *value) {
        /* Duplicates within one file are almost always a mistake. */
        for (size_t k = 0; k < p->n_entries; k++)
                if (tolower((unsigned char) p->entries[k].key[0]) == tolower((unsigned char) key[0]) &&
                    strcasecmp(p->entries[k].key, key) == 0 && strcasecmp(p->entries[k].section, p->section) == 0) {
                        line_error(p, p->section, key, "given twice in this file (first on line %u)", p->entries[k].line);
                        return 0;
                }
        if (array_grow(&p->entries, &p->allocated, p->n_entries, sizeof *p->entries, 16) < 0)
                return -ENOMEM;
        p->entries[p->n_entries++] = (IniEntry) { p->section, key, value, p->line };
        return 0;
}

/* "Key=Value": b..e is the trimmed line. */
static int parse_assignment(LineParser *p, char *b, char *e) {
        char *eq = memchr(b, '=', (size_t) (e - b));
        char keybuf[72], secbuf[72];

        if (!eq) {
                line_error(p, NULL, NULL, "expected Key=Value, [Section] or a comment");
                return 0;
        }
        char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
        trim((const char **) &kb, (const char **) &ke);
        trim((const char **) &vb, (const char **) &ve);

        if (!is_name(kb, (size_t) (ke - kb))) {
                line_error(p, p->section ? printable_excerpt(p->section, secbuf, sizeof secbuf) : NULL,
                           printable_excerpt(strndupa(kb, MIN((size_t) (ke - kb), 64U)), keybuf, sizeof keybuf),
                           "invalid key name; expected letters, digits, '_', '-' or '.'");
                return 0;
        }
        *ke = '\0';
        if (!p->section) {
                line_error(p, NULL, kb, "key outside of any [Section]");
                return 0;
        }
        if (!check_value(p, kb, &vb, &ve))
                return 0;
        *ve = '\0';
        return add_entry(p, kb, vb);
}

/* Checks every line of text (NUL-terminated at len, modified in place: the
 * names and values of the entries end in NULs there). */
static int parse_lines(LineParser *p, char *text, size_t len) {
        for (char *l = text; l < text + len;) {
                char *eol = memchr(l, '\n', (size_t) (text + len - l));
                char *b = l, *e = eol ? eol : text + len;
                int k = 0;

                p->line++;
                l = eol ? eol + 1 : text + len;
                if (e > b && e[-1] == '\r')
                        e--;
                if ((size_t) (e - b) > INI_LINE_MAX) {
                        line_error(p, NULL, NULL, "line is %zu bytes long; at most %u are allowed", (size_t) (e - b),
                                   INI_LINE_MAX);
                        continue;
                }
                trim((const char **) &b, (const char **) &e);
                if (b != e && e[-1] == '\\')
                        line_error(p, NULL, NULL, "line ends in a backslash; line continuation is not supported");
                else if (b == e || *b == '#' || *b == ';')
                        continue;
                else if (*b == '[')
                        parse_section(p, b, e);
                else
                        k = parse_assignment(p, b, e);
                if (k < 0)
                        return k;
        }
        return p->errors > 0 ? -EINVAL : 0;
}

/* Reads the whole file in one read() where it can, into a buffer of the
 * size fstat() said (plus the NUL); a file that grows while being read gets
 * a bigger one, up to INI_FILE_MAX, beyond which it is -EFBIG. */
static int read_all(int fd, size_t size, char **ret, size_t *ret_len) {
        size_t cap = size + 1, len = 0;
        _cleanup_free_ char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                len += (size_t) k;
                if (len > INI_FILE_MAX)
                        return -EFBIG;
                /* Got what fstat() promised (or the end): no second read. */
                if (k == 0 || len == size)
                        break;
                if (len == cap) {
                        char *t;
                        cap = MIN(cap * 2, (size_t) INI_FILE_MAX + 2);
                        t = realloc(buf, cap);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                }
        }
        if (len == cap) {
                char *t = realloc(buf, cap + 1);
                if (!t)
                        return -ENOMEM;
                buf = t;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Opens path for reading and checks what it is. Returns 0 with *ret_fd set,
 * INI_MASKED, or a negative errno after reporting. */
static int open_definition(int dir_fd, const char *file, const char *path, Report *r, struct stat *st,
                           int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;

        /* O_NONBLOCK: opening a FIFO must not hang the boot. */
        fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;
                if (e == ENOENT)
                        report_error(r, path, 0, NULL, NULL, "cannot open: dangling symlink or file removed");
                else if (e == ELOOP)
                        report_error(r, path, 0, NULL, NULL, "cannot open: too many levels of symbolic links");
                else
                        report_error(r, path, 0, NULL, NULL, "cannot open: %s", strerror(e));
                return -e;
        }
        if (fstat(fd, st) < 0) {
                report_error(r, path, 0, NULL, NULL, "cannot stat: %s", strerror(errno));
                return -errno;
        }
        if ((S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3)) || (S_ISREG(st->st_mode) && st->st_size == 0))
                return INI_MASKED; /* symlink to /dev/null, or empty */
        if (S_ISDIR(st->st_mode)) {
                report_error(r, path, 0, NULL, NULL, "is a directory; a definition must be a regular file");
                return -EISDIR;
        }
        if (!S_ISREG(st->st_mode)) {
                report_error(r, path, 0, NULL, NULL,
                             "not a regular file (FIFO, socket or device); a definition must be a regular file");
                return -EBADFD;
        }
        if (st->st_size > (off_t) INI_FILE_MAX) {
                report_error(r, path, 0, NULL, NULL, "file is %jd bytes; at most %u are allowed",
                             (intmax_t) st->st_size, INI_FILE_MAX);
                return -EFBIG;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* A dictionary of exactly n slots. dictionary_new() makes at least 128 and
 * dictionary_set() looks at every slot of it for every key it adds, which
 * was a quarter of the generator's time for definitions of a dozen keys.
 * The struct is iniparser's public one and its arrays are malloc()'d like
 * its own, so dictionary_set() may still grow it and iniparser_freedict()
 * frees it. */
static dictionary *dictionary_new_exact(size_t n) {
        dictionary *d = calloc(1, sizeof *d);

        if (!d)
                return NULL;
        d->size = n; /* ssize_t in iniparser 4.1, size_t in 4.2 */
        d->val = calloc(n, sizeof(char *));
        d->key = calloc(n, sizeof(char *));
        d->hash = calloc(n, sizeof(unsigned));
        if (!d->val || !d->key || !d->hash) {
                /* Not iniparser_freedict(): it would read the missing arrays. */
                free(d->val);
                free(d->key);
                free(d->hash);
                free(d);
                return NULL;
        }
        return d;
}

/* iniparser's dictionary, filled from the checked lines with the keys
 * iniparser_load() would use ("section:key", lower case; the entries it adds
 * for bare section names are left out: nothing looks them up), so that each
 * entry's value is the dictionary's. */
static int fill_dictionary(IniFile *f) {
        char lookup[2 * 64 + 2];

        f->dict = dictionary_new_exact(MAX(f->n_entries, (size_t) 1));
        if (!f->dict)
                return -ENOMEM;
        for (size_t i = 0; i < f->n_entries; i++) {
                IniEntry *e = &f->entries[i];
                /* n is int in iniparser 4.1, unsigned in 4.2. */
                size_t slot = (size_t) f->dict->n;
                size_t n = 0;

                for (const char *c = e->section; *c; c++)
                        lookup[n++] = (char) tolower((unsigned char) *c);
                lookup[n++] = ':';
                for (const char *c = e->key; *c; c++)
                        lookup[n++] = (char) tolower((unsigned char) *c);
                lookup[n] = '\0';
                if (dictionary_set(f->dict, lookup, e->value) < 0)
                        return -ENOMEM;
                /* The keys are unique (add_entry() refused repeats) and
                 * nothing was removed, so a new key takes the next free
                 * slot; only if it did not is the value looked up. */
                if ((size_t) f->dict->n == slot + 1 && f->dict->key[slot] && streq(f->dict->key[slot], lookup))
                        e->value = f->dict->val[slot];
                else
                        e->value = dictionary_get(f->dict, lookup, NULL); /* lookup is lower case already */
                if (!e->value)
                        return -ENOMEM;
        }
        return 0;
}

int ini_file_load(const char *path, Report *r, IniFile **ret) {
        return ini_file_load_at(AT_FDCWD, path, path, r, ret);
}

int ini_file_load_at(int dir_fd, const char *file, const char *path, Report *r, IniFile **ret) {
        _cleanup_ini_file_free_ IniFile *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        LineParser p = { .path = path, .report = r };
        size_t len, skip = 0;
        struct stat st;
        int k;

        k = open_definition(dir_fd, file, path, r, &st, &fd);
        if (k != 0)
                return k;

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        k = read_all(fd, (size_t) st.st_size, &f->text, &len);
        if (k == -EFBIG)
                report_error(r, path, 0, NULL, NULL, "file grew beyond %u bytes while being read", INI_FILE_MAX);
        else if (k < 0)
                report_error(r, path, 0, NULL, NULL, "cannot read: %s", strerror(-k));
        if (k < 0)
                return k;
        if (len == 0)
                return INI_MASKED;
        if (len >= 3 && memcmp(f->text, "\xef\xbb\xbf", 3) == 0)
                skip = 3;
        if (check_bytes(path, f->text + skip, len - skip, r) > 0)
                return -EINVAL;

        k = parse_lines(&p, f->text + skip, len - skip);
        f->entries = p.entries;
        f->n_entries = p.n_entries;
        if (k < 0)
                return k;
        f->path = strdup(path);
        if (!f->path || fill_dictionary(f) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(f);
        return INI_LOADED;
}
