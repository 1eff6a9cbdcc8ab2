/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "parse-value.h"
#include "report.h"

/* Messages carry operator strings (file names, keys, values): a control
 * character or a byte that is not UTF-8 is shown as '?', so that no message
 * can forge another line of the log. */
static const char *sanitize(const char *s, char *buf, size_t size) {
        size_t i = 0;

        if (!s)
                return NULL;
        while (*s && i + 5 < size) {
                size_t n = utf8_printable_char_len(s, false);
                if (n == 0) {
                        buf[i++] = '?';
                        s++;
                        continue;
                }
                for (size_t k = 0; k < n; k++)
                        buf[i++] = *s++;
        }
        buf[i] = '\0';
        return buf;
}

_printf_(7, 0) static void report_va(const Report *r, int level, const char *path, unsigned line,
                                    const char *section, const char *key, const char *fmt, va_list ap) {
        char raw[1024], msg[1024], where[64] = "", pbuf[1024], sbuf[80], kbuf[80];

        (void) vsnprintf(raw, sizeof raw, fmt, ap);
        sanitize(raw, msg, sizeof msg);
        path = sanitize(path, pbuf, sizeof pbuf);
        section = sanitize(section, sbuf, sizeof sbuf);
        key = sanitize(key, kbuf, sizeof kbuf);
        if (r->record)
                r->record(r->userdata, level == LOG_ERR, path, line, section, key, msg);
        if (r->quiet)
                return;
        if (line > 0)
                (void) snprintf(where, sizeof where, ":%u", line);

        if (section && key)
                log_full(level, "%s%s: [%s] %s: %s", path, where, section, key, msg);
        else if (section)
                log_full(level, "%s%s: [%s]: %s", path, where, section, msg);
        else
                log_full(level, "%s%s: %s", path, where, msg);
}

void report_full(Report *r, bool error, const char *path, unsigned line, const char *section, const char *key,
                 const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_va(r, error ? LOG_ERR : LOG_WARNING, path, line, section, key, fmt, ap);
        va_end(ap);
        if (error)
                r->n_errors++;
        else
                r->n_warnings++;
}
