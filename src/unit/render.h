/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent.h"
#include "buffer.h"

/* Rendering an agent into the text of agent@NAME.service, from the template
 * compiled in from src/unit/agent.service.in. Every operator string is
 * escaped for where it lands: '%' specifiers everywhere, and quoting, C
 * escapes and '$' in Exec*= lines, so no definition can add or change a
 * directive. */

#define AGENT_STATE_ROOT "/run/agentcage"

int render_unit(const Agent *a, Buffer *out);

/* Appends s as one word of an Exec*= line (quoted and escaped as needed). */
void render_exec_word(Buffer *b, const char *s);

/* Appends s with '%' doubled, for a unit setting's value. -EINVAL (nothing
 * appended) if s has a control character, is not UTF-8 or ends in '\\':
 * none of those can be written into a unit. */
int render_unit_value(Buffer *b, const char *s);

/* Appends s for a comment line: control characters, bytes that are not UTF-8
 * and '\\' become \xNN, so a comment never spans more than its line. */
void render_comment_text(Buffer *b, const char *s);
