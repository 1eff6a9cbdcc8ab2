#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fills a man page template: @KEYS@ from a file (the schema table, rendered
# by agent-generator --list-keys-roff) and @VERSION@.
import sys

template, keys, version, out = sys.argv[1:5]
text = open(template).read()
text = text.replace('@KEYS@', open(keys).read().rstrip('\n')).replace('@VERSION@', version)
open(out, 'w').write(text)
