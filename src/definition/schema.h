/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"

/* The one table of definition keys. The loader, `agentctl verify`, the man
 * page's key list (agent-generator --list-keys) and the tests all derive from
 * it; adding a key means adding a row here and, if it needs one, a parser. */

typedef struct SchemaKey SchemaKey;

/* Parses value into the field of a at k->offset. On failure returns a negative
 * errno and may write a specific reason into why. */
typedef int (*schema_parser_t)(const SchemaKey *k, const char *value, Agent *a, char *why, size_t why_size);

struct SchemaKey {
        const char *section;
        const char *key;          /* "*" in [Secrets]: any secret name */
        schema_parser_t parse;
        size_t offset;
        uint64_t min, max;        /* limits for numeric types (µs for spans) */
        const char *default_value; /* parsed like a value; NULL: none */
        bool required;
        const char *allowed;      /* what a valid value looks like, for messages */
        const char *doc;          /* one line for the documentation */
};

extern const SchemaKey schema_keys[];
extern const size_t schema_n_keys;

const SchemaKey *schema_find(const char *section, const char *key, bool *ret_section_known);

/* Applies every default of the table to a. */
int schema_apply_defaults(Agent *a);

/* Writes the table as a reference (section, key, doc, allowed, default), as
 * plain text or as roff for the man page. */
void schema_dump(FILE *f, bool roff);

/* Number of CPUs the CPUQuota= limit is computed from; tests may override. */
unsigned schema_n_cpus(void);

