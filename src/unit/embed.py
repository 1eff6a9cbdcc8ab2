#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Turns a template file into a C header holding it as one string, so that the
# installed generator and the tests render from the very same text.
import sys

src, dst, symbol = sys.argv[1:4]
data = open(src, 'rb').read().decode('utf-8')
with open(dst, 'w') as out:
    out.write('/* Generated from %s; do not edit. */\n#pragma once\n' % src.split('/')[-1])
    out.write('static const char %s[] =\n' % symbol)
    for line in data.splitlines(keepends=True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        out.write('        "%s"\n' % esc)
    out.write('        ;\n')
