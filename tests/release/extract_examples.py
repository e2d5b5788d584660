#!/usr/bin/env python3
"""Writes every C code example of README.md (```c blocks) and of the public
headers (@code ... @endcode in comments) to <out-dir> as a compilable file,
one per example, and prints their names.

A complete program (it defines main) is written as is: <name>.prog.c. A
fragment is wrapped in a function after the includes it may need:
<name>.frag.c. Usage: extract_examples.py <source-dir> <out-dir>
"""
import os
import re
import sys

FRAGMENT_HEAD = '''#include <kafka/kafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void example(void);
void example(void)
{
'''


def readme_examples(path):
    with open(path, encoding='utf-8') as f:
        return re.findall(r'^```c\n(.*?)^```$', f.read(), re.S | re.M)


def header_examples(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    examples = []
    for block in re.findall(r'@code\n(.*?)^\s*\*\s*@endcode', text, re.S | re.M):
        examples.append('\n'.join(re.sub(r'^\s*\* ?', '', line) for line in block.split('\n')))
    return examples


def write(out, name, code):
    if re.search(r'\bint\s+main\s*\(', code):
        fname = name + '.prog.c'
        body = code
    else:
        fname = name + '.frag.c'
        body = FRAGMENT_HEAD + code + '\n}\n'
    with open(os.path.join(out, fname), 'w', encoding='utf-8') as f:
        f.write(body)
    print(fname)


def main(src, out):
    os.makedirs(out, exist_ok=True)
    for i, code in enumerate(readme_examples(os.path.join(src, 'README.md')), 1):
        write(out, 'README.md_%d' % i, code)
    incdir = os.path.join(src, 'include', 'kafka')
    for h in sorted(os.listdir(incdir)):
        if h.endswith('.h'):
            for i, code in enumerate(header_examples(os.path.join(incdir, h)), 1):
                write(out, '%s_%d' % (h, i), code)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
