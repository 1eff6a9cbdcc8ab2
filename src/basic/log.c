/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_prefix = "agentcage";
static int log_max_level = LOG_INFO;
static int kmsg_fd = -EBADF;

void log_set_prefix(const char *program) {
        log_prefix = program;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

int log_open_kmsg(void) {
        if (kmsg_fd >= 0)
                return 0;
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        return kmsg_fd < 0 ? negative_errno() : 0;
}

void log_close(void) {
        closep(&kmsg_fd);
        kmsg_fd = -EBADF;
}

_printf_(5, 6) int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        /* Callers pass a negative errno; %m must print its text. */
        if (error != 0)
                errno = error < 0 ? -error : error;

        if (level > log_max_level)
                return error < 0 ? error : -error;

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (kmsg_fd >= 0) {
                /* "<prio>tag: message" is how /dev/kmsg takes a syslog level. */
                char k[sizeof buf + 64];
                int n = snprintf(k, sizeof k, "<%d>%s: %s\n", level, log_prefix, buf);
                if (n > 0)
                        (void) !write(kmsg_fd, k, MIN((size_t) n, sizeof k - 1));
        } else
                fprintf(stderr, "%s\n", buf);

        (void) file;
        (void) line;
        return error < 0 ? error : -error;
}
