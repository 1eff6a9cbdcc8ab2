/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Copies bytes between the agent's connection and the upstream with
 * splice(2) through a pipe per direction (no copy through user space).
 * up_limit bounds what goes from client to upstream (UINT64_MAX: no bound;
 * plain HTTP passes the rest of the body so that nothing pipelined after it
 * reaches the server). With tunnel, an EOF is passed on as a half-close and
 * the relay ends when both directions are done; without, it ends when the
 * upstream is done. idle_msec ends a silent connection. Returns 0 or a
 * negative errno; the byte counts are written either way. */
int egress_relay(int client, int upstream, uint64_t up_limit, bool tunnel, int idle_msec, uint64_t *ret_up,
                 uint64_t *ret_down);

/* write() all of buf, waiting (poll) on a non-blocking fd. */
int egress_write_all(int fd, const void *buf, size_t len, int timeout_msec);
