/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <iniparser.h>

#include "ini.h"
#include "log.h"
#include "parse-value.h"

/* iniparser reports through one global callback. Keep its last message so it
 * can be attached to the file it concerns. */
static char iniparser_last_error[256];

_printf_(1, 2) static int iniparser_error_cb(const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(iniparser_last_error, sizeof iniparser_last_error, fmt, ap);
        va_end(ap);
        /* Its messages end in a newline and may be split over lines. */
        for (char *p = iniparser_last_error; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return n;
}

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
        for (size_t i = 0; i < f->n_entries; i++) {
                free(f->entries[i].section);
                free(f->entries[i].key);
                free(f->entries[i].value);
        }
        free(f->entries);
        free(f->path);
        free(f);
        return NULL;
}

static bool name_char(char c, bool first) {
        if (isalpha((unsigned char) c))
                return true;
        return !first && (isdigit((unsigned char) c) || c == '_' || c == '-' || c == '.');
}

static bool is_name(const char *s, size_t n) {
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char(s[i], i == 0))
                        return false;
        return true;
}

static void trim(const char **b, const char **e) {
        while (*b < *e && (**b == ' ' || **b == '\t'))
                (*b)++;
        while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
                (*e)--;
}

/* One entry as the line check sees it: names as written and the value that
 * iniparser must report for the file to be accepted. */
typedef struct Expected {
        const char *section, *key, *value;
        size_t section_len, key_len, value_len;
        unsigned line;
} Expected;

/* Checks the bytes of the file. Returns the number of errors reported. */
static unsigned check_bytes(const char *path, const char *buf, size_t len, Report *r) {
        unsigned line = 1, errors = 0;

        for (size_t i = 0; i < len;) {
                unsigned char c = (unsigned char) buf[i];

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

static int parse_lines(const char *path, const char *buf, size_t len, Report *r,
                       Expected **ret, size_t *ret_n) {
        _cleanup_free_ Expected *ex = NULL;
        size_t n = 0, allocated = 0;
        const char *section = NULL;
        size_t section_len = 0;
        unsigned line = 0, errors = 0;

        for (const char *p = buf; p < buf + len;) {
                const char *eol = memchr(p, '\n', (size_t) (buf + len - p));
                const char *next = eol ? eol + 1 : buf + len;
                const char *b = p, *e = eol ? eol : buf + len;

                line++;
                p = next;

                if (e > b && e[-1] == '\r')
                        e--;
                if ((size_t) (e - b) > INI_LINE_MAX) {
                        report_error(r, path, line, NULL, NULL,
                                     "line is %zu bytes long; at most %u are allowed", (size_t) (e - b), INI_LINE_MAX);
                        errors++;
                        continue;
                }
                trim(&b, &e);
                if (b == e || *b == '#' || *b == ';') {
                        if (b != e && e[-1] == '\\') {
                                report_error(r, path, line, NULL, NULL,
                                             "line ends in a backslash; line continuation is not supported");
                                errors++;
                        }
                        continue;
                }
                if (e[-1] == '\\') {
                        report_error(r, path, line, NULL, NULL,
                                     "line ends in a backslash; line continuation is not supported");
                        errors++;
                        continue;
                }

                if (*b == '[') {
                        const char *sb = b + 1, *se = e - 1;

                        if (e - b < 2 || *se != ']') {
                                report_error(r, path, line, NULL, NULL, "section header without closing ']'");
                                errors++;
                                section = NULL;
                                continue;
                        }
                        trim(&sb, &se);
                        if (!is_name(sb, (size_t) (se - sb))) {
                                report_error(r, path, line, NULL, NULL,
                                             "invalid section name; expected letters and digits in [brackets]");
                                errors++;
                                section = NULL;
                                continue;
                        }
                        section = sb;
                        section_len = (size_t) (se - sb);
                        continue;
                }

                const char *eq = memchr(b, '=', (size_t) (e - b));
                if (!eq) {
                        report_error(r, path, line, NULL, NULL, "expected Key=Value, [Section] or a comment");
                        errors++;
                        continue;
                }
                const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
                trim(&kb, &ke);
                trim(&vb, &ve);

                char keybuf[72], secbuf[72];
                if (!is_name(kb, (size_t) (ke - kb))) {
                        report_error(r, path, line, section ? printable_excerpt(strndupa(section, section_len), secbuf, sizeof secbuf) : NULL,
                                     printable_excerpt(strndupa(kb, MIN((size_t) (ke - kb), 64U)), keybuf, sizeof keybuf),
                                     "invalid key name; expected letters, digits, '_', '-' or '.'");
                        errors++;
                        continue;
                }
                if (!section) {
                        report_error(r, path, line, NULL, strndupa(kb, (size_t) (ke - kb)),
                                     "key outside of any [Section]");
                        errors++;
                        continue;
                }
                const char *sec_s = strndupa(section, section_len), *key_s = strndupa(kb, (size_t) (ke - kb));

                /* What iniparser would alter must be refused, never passed on. */
                const char *bad = NULL;
                for (const char *q = vb; q < ve; q++)
                        if (*q == '#' || *q == ';') {
                                bad = q;
                                break;
                        }
                if (bad) {
                        report_error(r, path, line, sec_s, key_s,
                                     "value contains '%c', which the INI format reads as the start of a comment; "
                                     "'#' and ';' cannot appear in values", *bad);
                        errors++;
                        continue;
                }
                if (ve > vb && (*vb == '"' || *vb == '\'')) {
                        char q = *vb;
                        bool ok = ve - vb >= 2 && ve[-1] == q && !memchr(vb + 1, q, (size_t) (ve - vb - 2));
                        if (!ok) {
                                report_error(r, path, line, sec_s, key_s,
                                             "a value that begins with a quote must be one quoted string "
                                             "(the quotes are removed); here text follows the closing quote or it is missing");
                                errors++;
                                continue;
                        }
                        vb++;
                        ve--;
                }

                /* Duplicates within one file are almost always a mistake. */
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        if (ex[k].section_len == section_len && ex[k].key_len == (size_t) (ke - kb) &&
                            strncasecmp(ex[k].section, section, section_len) == 0 &&
                            strncasecmp(ex[k].key, kb, ex[k].key_len) == 0) {
                                report_error(r, path, line, sec_s, key_s,
                                             "given twice in this file (first on line %u)", ex[k].line);
                                dup = true;
                                break;
                        }
                if (dup) {
                        errors++;
                        continue;
                }

                if (n == allocated) {
                        size_t na = allocated ? allocated * 2 : 16;
                        Expected *t = realloc(ex, na * sizeof *t);
                        if (!t)
                                return -ENOMEM;
                        ex = t;
                        allocated = na;
                }
                ex[n++] = (Expected) {
                        .section = section, .section_len = section_len,
                        .key = kb, .key_len = (size_t) (ke - kb),
                        .value = vb, .value_len = (size_t) (ve - vb),
                        .line = line,
                };
        }

        if (errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(ex);
        *ret_n = n;
        return 0;
}

/* Reads the whole file in one read() where it can: size is what fstat()
 * said; a file that grew past INI_FILE_MAX while being read is -EFBIG. */
static int read_all(int fd, size_t size, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = malloc(INI_FILE_MAX + 1);
        size_t len = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, INI_FILE_MAX + 1 - len);
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
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static void dictionary_freep(dictionary **d) {
        if (*d)
                iniparser_freedict(*d);
}

int ini_file_load(const char *path, Report *r, IniFile **ret) {
        _cleanup_close_ int fd = -EBADF, memfd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ Expected *ex = NULL;
        _cleanup_(dictionary_freep) dictionary *d = NULL;
        _cleanup_ini_file_free_ IniFile *f = NULL;
        size_t len, n = 0, skip = 0;
        struct stat st;
        char procpath[64];
        int r_;

        /* O_NONBLOCK: opening a FIFO must not hang the boot. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        report_error(r, path, 0, NULL, NULL, "cannot open: dangling symlink or file removed");
                else if (errno == ELOOP)
                        report_error(r, path, 0, NULL, NULL, "cannot open: too many levels of symbolic links");
                else
                        report_error(r, path, 0, NULL, NULL, "cannot open: %s", strerror(errno));
                return -errno;
        }
        if (fstat(fd, &st) < 0) {
                report_error(r, path, 0, NULL, NULL, "cannot stat: %s", strerror(errno));
                return -errno;
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return INI_MASKED; /* symlink to /dev/null */
        if (S_ISDIR(st.st_mode)) {
                report_error(r, path, 0, NULL, NULL, "is a directory; a definition must be a regular file");
                return -EISDIR;
        }
        if (!S_ISREG(st.st_mode)) {
                report_error(r, path, 0, NULL, NULL,
                             "not a regular file (FIFO, socket or device); a definition must be a regular file");
                return -EBADFD;
        }
        if (st.st_size == 0)
                return INI_MASKED;
        if (st.st_size > (off_t) INI_FILE_MAX) {
                report_error(r, path, 0, NULL, NULL, "file is %jd bytes; at most %u are allowed",
                             (intmax_t) st.st_size, INI_FILE_MAX);
                return -EFBIG;
        }

        r_ = read_all(fd, (size_t) st.st_size, &buf, &len);
        if (r_ == -EFBIG) {
                report_error(r, path, 0, NULL, NULL, "file grew beyond %u bytes while being read", INI_FILE_MAX);
                return r_;
        }
        if (r_ < 0) {
                report_error(r, path, 0, NULL, NULL, "cannot read: %s", strerror(-r_));
                return r_;
        }
        if (len == 0)
                return INI_MASKED;

        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                skip = 3;

        if (check_bytes(path, buf + skip, len - skip, r) > 0)
                return -EINVAL;
        r_ = parse_lines(path, buf + skip, len - skip, r, &ex, &n);
        if (r_ < 0)
                return r_;

        /* iniparser reads the very bytes that were checked: the open file
         * through /proc/self/fd (same inode, no second path lookup), or, when
         * a byte order mark has to go, a sealed in-memory copy without it. */
        if (skip > 0) {
                memfd = memfd_create("agent-definition", MFD_CLOEXEC);
                if (memfd < 0)
                        return log_error_errno(negative_errno(), "Failed to create memfd: %m");
                if (write(memfd, buf + skip, len - skip) != (ssize_t) (len - skip))
                        return log_error_errno(-EIO, "Failed to write memfd: %m");
                (void) snprintf(procpath, sizeof procpath, "/proc/self/fd/%d", memfd);
        } else
                (void) snprintf(procpath, sizeof procpath, "/proc/self/fd/%d", fd);

        iniparser_set_error_callback(iniparser_error_cb);
        iniparser_last_error[0] = '\0';
        d = iniparser_load(procpath);
        if (!d) {
                report_error(r, path, 0, NULL, NULL, "the INI parser rejected the file: %s",
                             iniparser_last_error[0] ? iniparser_last_error : "no reason given");
                return -EINVAL;
        }

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->path = strdup(path);
        f->entries = calloc(n ? n : 1, sizeof(IniEntry));
        if (!f->path || !f->entries)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                char lookup[160];
                const char *v;

                (void) snprintf(lookup, sizeof lookup, "%.*s:%.*s", (int) ex[i].section_len, ex[i].section,
                                (int) ex[i].key_len, ex[i].key);
                for (char *c = lookup; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                v = iniparser_getstring(d, lookup, NULL);

                IniEntry *e = &f->entries[f->n_entries++];
                e->section = strndup(ex[i].section, ex[i].section_len);
                e->key = strndup(ex[i].key, ex[i].key_len);
                e->line = ex[i].line;
                if (!e->section || !e->key)
                        return -ENOMEM;

                /* The line check and iniparser must agree on every value. */
                if (!v || strlen(v) != ex[i].value_len || memcmp(v, ex[i].value, ex[i].value_len) != 0) {
                        report_error(r, path, ex[i].line, e->section, e->key,
                                     "the INI parser reads this value differently than written; rewrite it");
                        return -EINVAL;
                }
                e->value = strdup(v);
                if (!e->value)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(f);
        return INI_LOADED;
}
