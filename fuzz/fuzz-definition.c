/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer harness: arbitrary bytes as an agent definition, through the
 * whole path the generator takes (strict line check, iniparser, schema,
 * model) and, when accepted, rendering. It must never crash, leak or read out
 * of bounds, and whatever it accepts must render. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "buffer.h"
#include "log.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static char path[64];
        Report report = {};
        Agent *a = NULL;
        int fd, r;

        if (!path[0]) {
                log_set_max_level(-1); /* quiet: the fuzzer wants speed, not messages */
                (void) snprintf(path, sizeof path, "/dev/shm/fuzz-definition-%d.agent", (int) getpid());
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                abort();
        close(fd);

        r = agent_load("fuzz", path, NULL, 0, &report, &a);
        if (r == 0) {
                Buffer b = {};
                if (render_unit(a, &b) < 0)
                        abort(); /* accepted input must always render */
                buffer_done(&b);
                agent_free(a);
        } else if (r < 0 && r != -EINVAL && r != -ENOMEM)
                abort();
        return 0;
}
