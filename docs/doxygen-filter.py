#!/usr/bin/env python3
"""Doxygen INPUT_FILTER for libkafka's public headers.

The headers document every declaration with plain C comments (/* ... */)
written for people reading the header. This filter lets Doxygen read them
without the headers changing style, keeping line numbers:
  - the file's first comment becomes the @file description;
  - a comment on lines of its own documents the declaration right after
    it (/**), and all of the declarations after it up to a blank line or
    the next comment when there are several (a member group: the header
    documents kafka_conn_set_read_deadline and _write_deadline with one
    comment); a comment followed by a blank line (a section title) stays a
    plain comment;
  - a comment after a declaration on the same line documents that
    declaration (/**<).
"""
import re
import sys

OPEN_ALONE = re.compile(r'^(\s*)/\*(?![*/])')
TRAILING = re.compile(r'([;,{]\s*|[A-Za-z0-9_)]\s+)/\*(?![*<])')
ENUMERATOR = re.compile(r'^[A-Z_][A-Z0-9_]*\s*(=.*)?,$')


def code_part(line):
    """The line without a trailing /* comment */ (declaration lines only)."""
    i = line.find('/*')
    return (line if i < 0 else line[:i]).rstrip()


def ends_in_comment(line, in_comment):
    i = 0
    while i < len(line):
        if not in_comment and line.startswith('/*', i):
            in_comment, i = True, i + 2
        elif in_comment and line.startswith('*/', i):
            in_comment, i = False, i + 2
        else:
            i += 1
    return in_comment


def declarations_after(lines, start):
    """Indexes of the last line of each declaration from lines[start] on,
    up to a blank line, a comment, a brace or other preprocessor lines."""
    ends = []
    i = start
    while i < len(lines):
        code = code_part(lines[i])
        s = code.strip()
        if i == start and '{' in s and '}' not in s:
            return [i]  # a struct or enum: documented as a whole
        if not s or lines[i].lstrip().startswith('/*') or '{' in s or '}' in s:
            break
        if s.startswith('#'):
            if not s.startswith('#define'):
                break
            ends.append(i)
        elif s.endswith(';') or ENUMERATOR.match(s):
            ends.append(i)
        i += 1
    return ends


def main(path):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    out = list(lines)
    prefix = [''] * (len(lines) + 1)
    seen_first = False
    in_comment = False
    for n, line in enumerate(lines):
        if not in_comment:
            m = OPEN_ALONE.match(line)
            if m:
                end = n
                while end < len(lines) and '*/' not in lines[end]:
                    end += 1
                decls = declarations_after(lines, end + 1)
                if not seen_first:
                    out[n] = m.group(1) + '/** @file ' + line[m.end():]
                elif decls:  # a comment followed by a blank line documents nothing
                    group = ''
                    if len(decls) > 1:
                        group = '/**@{*/ '
                        prefix[decls[-1] + 1] += '/**@}*/ '
                    out[n] = m.group(1) + group + '/** ' + line[m.end():]
                seen_first = True
            elif '/*' in line and (not line.startswith('#') or line.startswith('#define')):
                out[n] = TRAILING.sub(lambda t: t.group(1) + '/**<', out[n], count=1)
        in_comment = ends_in_comment(line, in_comment)
    sys.stdout.write('\n'.join(p + o for p, o in zip(prefix, out)))
    if prefix[len(lines)]:
        sys.stdout.write(prefix[len(lines)])


if __name__ == '__main__':
    main(sys.argv[1])
