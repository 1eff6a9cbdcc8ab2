/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-state.h"

/* The hand-over of an agent's listening socket to agentcage-egress.
 *
 * The agent's start (root, inside the unit's network namespace, which has
 * only lo) calls egress_listen_local() and then egress_register_agent(). The
 * socket keeps the namespace it was made in when it is passed with
 * SCM_RIGHTS, so the one host-side proxy accepts connections that agents make
 * to 127.0.0.1:3128 of their own namespace. The proxy serves that socket for
 * that agent until the registering process (which then becomes
 * systemd-nspawn by exec) exits. */

#define EGRESS_CONTROL_SOCKET AGENT_STATE_ROOT "/egress.sock"
#define EGRESS_POLICY_DIR "/run/systemd/generator/agentcage-egress"
#define EGRESS_STATE_DIR AGENT_STATE_ROOT "/" AGENT_STATE_EGRESS_DIR
#define EGRESS_PROXY_PORT 3128
#define EGRESS_PROXY_URL "http://127.0.0.1:3128"

/* The environment the agent gets (NULL-terminated). */
extern const char *const egress_proxy_environment[];

/* Brings lo up in the current network namespace and returns a listening
 * TCP socket bound to 127.0.0.1:port (O_CLOEXEC). */
int egress_listen_local(uint16_t port, int *ret_fd);

/* Hands listen_fd for agent name to the proxy at control_path (NULL: the
 * default) and waits for its answer (5 s). Returns 0, -ECONNREFUSED/-ENOENT
 * when no proxy listens, -EPROTO with the proxy's reason in why. The caller
 * keeps (and should close) its copy of listen_fd. */
int egress_register_agent(const char *control_path, const char *name, int listen_fd, char *why, size_t why_size);

/* Proxy side: receives one registration on conn_fd (a SOCK_SEQPACKET
 * connection). Checks the peer is root, the name is a valid agent name, and
 * the fd is a listening TCP socket. Returns 0 with *ret_fd and the peer's
 * *ret_pid; on refusal a negative errno and a reason in why (already sent
 * back to the peer). */
int egress_receive_registration(int conn_fd, char *name, size_t name_size, int *ret_fd, pid_t *ret_pid,
                                char *why, size_t why_size);

/* Answers a registration: "ok" or "error: why". */
int egress_answer_registration(int conn_fd, const char *why);
