#!/usr/bin/env python3
"""Generate libkafka's protocol codecs from Apache Kafka's message schemas.

Reads every *Request.json / *Response.json whose request "listeners" include
"broker" and writes, under --out (default src/protocol/gen):

  <api>.h / <api>.c   C structs for the request and response of one API plus
                      descriptor tables interpreted by src/protocol/gen_runtime.c
                      and the wrappers kafka_<msg>_{init,encode,decode,size}
  api_keys.h          enum kafka_api_key
  api_table.c         the kafka_api_info table (see src/protocol/api.h)
  all.h               includes every generated header

and, under --tests-out (default tests/unit/test_protocol_gen.c), a cmocka
program that round-trips every message at every valid version.

Python 3 standard library only; the output depends only on the schemas, so
tests/cmake/codegen.cmake can regenerate into a temporary directory and diff.

Usage: tools/kafka_codegen.py [--schemas DIR] [--out DIR] [--tests-out FILE]
"""

import argparse
import json
import os
import re
import sys
import zlib

VMAX = 32767
C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
    "volatile", "while", "bool", "true", "false",
}
PRIMS = {
    "bool": ("bool", "KAFKA_GT_BOOL"),
    "int8": ("int8_t", "KAFKA_GT_INT8"),
    "int16": ("int16_t", "KAFKA_GT_INT16"),
    "uint16": ("uint16_t", "KAFKA_GT_UINT16"),
    "int32": ("int32_t", "KAFKA_GT_INT32"),
    "uint32": ("uint32_t", "KAFKA_GT_UINT32"),
    "int64": ("int64_t", "KAFKA_GT_INT64"),
    "float64": ("double", "KAFKA_GT_FLOAT64"),
    "string": ("kafka_str", "KAFKA_GT_STRING"),
    "bytes": ("kafka_bytes", "KAFKA_GT_BYTES"),
    "records": ("kafka_bytes", "KAFKA_GT_RECORDS"),
    "uuid": ("kafka_uuid", "KAFKA_GT_UUID"),
}
INT_TYPES = {"int8", "int16", "uint16", "int32", "uint32", "int64"}


def die(msg):
    sys.exit("kafka_codegen: " + msg)


# ---- schema loading ---------------------------------------------------------

def strip_comments(text):
    """Removes // comments that are outside JSON strings."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))


def parse_versions(spec):
    """'3+' -> (3, VMAX); '1-4' -> (1, 4); '2' -> (2, 2); 'none'/None -> (-1, -1)."""
    if spec is None or spec == "" or spec == "none":
        return (-1, -1)
    spec = str(spec).strip()
    if spec.endswith("+"):
        return (int(spec[:-1]), VMAX)
    if "-" in spec:
        lo, hi = spec.split("-")
        return (int(lo), int(hi))
    return (int(spec), int(spec))


def snake(name):
    """CamelCase -> snake_case with acronyms kept whole (DescribeACLs -> describe_acls)."""
    name = name.replace("ACLs", "Acls")
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if s in C_KEYWORDS else s


def c_comment(text):
    return text.replace("*/", "* /").replace("/*", "/ *")


# ---- model ------------------------------------------------------------------

class Field:
    def __init__(self, msg, spec, path):
        self.name = spec["name"]
        self.path = path + "." + self.name
        self.c = snake(self.name)
        t = spec["type"]
        self.array = t.startswith("[]")
        self.base = t[2:] if self.array else t
        self.versions = parse_versions(spec.get("versions"))
        if self.versions[0] < 0:
            die("%s: field without versions" % self.path)
        self.nullable = parse_versions(spec.get("nullableVersions"))
        self.tagged = parse_versions(spec.get("taggedVersions"))
        self.tag = int(spec["tag"]) if "tag" in spec else -1
        if (self.tag >= 0) != (self.tagged[0] >= 0):
            die("%s: tag and taggedVersions must come together" % self.path)
        if self.tagged[0] >= 0 and self.tagged != self.versions:
            die("%s: taggedVersions != versions is not supported" % self.path)
        self.ignorable = bool(spec.get("ignorable", False))
        self.about = spec.get("about", "")
        self.default = spec.get("default")
        self.struct = None  # Struct for struct-typed fields
        if self.base not in PRIMS:
            self.struct = msg.struct_for(self, spec)

    @property
    def null_default(self):
        return str(self.default).lower() == "null" if self.default is not None else False

    def int_default(self):
        if self.base == "bool":
            return 1 if str(self.default).lower() == "true" else 0
        if self.default is None or self.default == "":
            return 0
        if isinstance(self.default, bool):
            return int(self.default)
        if isinstance(self.default, int):
            return self.default
        return int(str(self.default), 0)

    def str_default(self):
        if self.null_default:
            return None
        return "" if self.default is None else str(self.default)

    @property
    def has_present(self):
        return self.struct is not None and not self.array and self.nullable[0] >= 0


class Struct:
    def __init__(self, msg, name, path, fields_spec):
        self.msg = msg
        self.name = name
        self.path = path
        self.ctype = msg.ctype if name == msg.name else msg.ctype + "_" + snake(name)
        self.spec = fields_spec
        self.fields = []

    def build(self):
        self.fields = [Field(self.msg, f, self.path) for f in self.spec]
        names = set()
        for f in self.fields:
            for n in [f.c] + ([f.c + "_count"] if f.array else []) + ([f.c + "_present"] if f.has_present else []):
                if n in names:
                    die("%s: member name collision %s" % (self.path, n))
                names.add(n)

    def desc_order(self):
        """Positional fields in schema order, then tagged fields by tag."""
        pos = [f for f in self.fields if f.tag < 0]
        tagged = sorted([f for f in self.fields if f.tag >= 0], key=lambda f: f.tag)
        return pos + tagged


class Message:
    def __init__(self, spec, filename):
        self.spec = spec
        self.file = filename
        self.name = spec["name"]
        self.kind = spec["type"]
        self.api_key = spec["apiKey"]
        self.ctype = "kafka_" + snake(self.name)
        self.valid = parse_versions(spec["validVersions"])
        self.flex = parse_versions(spec.get("flexibleVersions"))
        self.unstable = bool(spec.get("latestVersionUnstable", False))
        self.common = {c["name"]: c for c in spec.get("commonStructs", [])}
        self.structs = {}
        self.root = Struct(self, self.name, self.name, spec.get("fields", []))
        self.root.build()
        self.check_tags(self.root)

    def struct_for(self, field, spec):
        name = field.base
        if "fields" in spec:
            if name in self.common:
                die("%s: inline struct %s shadows a common struct" % (field.path, name))
            if name in self.structs:
                die("%s: struct %s defined twice" % (field.path, name))
            s = Struct(self, name, field.path, spec["fields"])
            self.structs[name] = s
            s.build()
            return s
        if name in self.structs:
            return self.structs[name]
        if name not in self.common:
            die("%s: unknown type %s" % (field.path, name))
        s = Struct(self, name, self.name + "." + name, self.common[name]["fields"])
        self.structs[name] = s
        s.build()
        return s

    def check_tags(self, st):
        flex_min = self.flex[0]
        for f in st.fields:
            if f.tag >= 0 and (flex_min < 0 or f.tagged[0] < flex_min):
                die("%s: tagged in a non-flexible version" % f.path)
            if f.struct:
                self.check_tags(f.struct)

    def ordered_structs(self):
        """Post-order: every struct after the structs it embeds."""
        out, seen = [], set()

        def visit(s):
            if s.name in seen:
                return
            seen.add(s.name)
            for f in s.fields:
                if f.struct:
                    visit(f.struct)
            out.append(s)

        visit(self.root)
        return out


class Api:
    def __init__(self, req, resp):
        self.req, self.resp = req, resp
        self.key = req.api_key
        self.base = req.name[: -len("Request")]
        self.file = snake(self.base)
        self.enum = "KAFKA_API_" + snake(self.base).upper().rstrip("_")


def load_apis(schema_dir):
    files = sorted(os.listdir(schema_dir))
    specs = {}
    for fn in files:
        if fn.endswith("Request.json") or fn.endswith("Response.json"):
            specs[fn] = load_schema(os.path.join(schema_dir, fn))
    apis = []
    for fn, spec in sorted(specs.items()):
        if spec.get("type") != "request" or "broker" not in spec.get("listeners", []):
            continue
        resp_fn = fn[: -len("Request.json")] + "Response.json"
        if resp_fn not in specs:
            die("%s has no response schema" % fn)
        req = Message(spec, fn)
        resp = Message(specs[resp_fn], resp_fn)
        if req.api_key != resp.api_key or req.valid != resp.valid:
            die("%s: request/response key or versions differ" % fn)
        apis.append(Api(req, resp))
    apis.sort(key=lambda a: a.key)
    keys = [a.key for a in apis]
    if len(set(keys)) != len(keys):
        die("duplicate api keys")
    return apis


# ---- C emission -------------------------------------------------------------

def vrange(v):
    lo, hi = v
    return "%d, %s" % (lo, "KAFKA_GEN_VMAX" if hi == VMAX else str(hi))


def vtext(v):
    lo, hi = v
    if lo < 0:
        return "none"
    if hi == VMAX:
        return "v%d+" % lo
    return "v%d" % lo if lo == hi else "v%d-%d" % (lo, hi)


def member_type(f):
    return f.struct.ctype if f.struct else PRIMS[f.base][0]


def field_comment(f):
    bits = [vtext(f.versions)]
    if f.nullable[0] >= 0:
        bits.append("nullable " + vtext(f.nullable))
    if f.tag >= 0:
        bits.append("tag %d" % f.tag)
    if f.default is not None:
        bits.append("default %s" % f.default)
    if f.ignorable:
        bits.append("ignorable")
    text = "; ".join(bits)
    if f.about:
        text += ". " + f.about
    return c_comment(text)


def emit_struct_def(s, out):
    out.append("/* %s */" % s.path)
    out.append("typedef struct %s {" % s.ctype)
    if not s.fields:
        out.append("    char unused_; /* this struct has no fields */")
    for f in s.fields:
        out.append("    /* %s */" % field_comment(f))
        t = member_type(f)
        if f.array:
            out.append("    %s *%s;" % (t, f.c))
            out.append("    int32_t %s_count; /* -1 = null */" % f.c)
        else:
            out.append("    %s %s;" % (t, f.c))
            if f.has_present:
                out.append("    bool %s_present; /* false = null */" % f.c)
    out.append("} %s;" % s.ctype)
    out.append("")


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_field_desc(s, f):
    flags = []
    if f.array:
        flags.append("KAFKA_GF_ARRAY")
    if f.ignorable:
        flags.append("KAFKA_GF_IGNORABLE")
    if f.null_default:
        flags.append("KAFKA_GF_NULL_DEFAULT")
    parts = [
        ".name = %s" % c_string(f.path),
        ".offset = offsetof(%s, %s)" % (s.ctype, f.c),
    ]
    if f.array:
        parts.append(".aux = offsetof(%s, %s_count)" % (s.ctype, f.c))
    elif f.has_present:
        parts.append(".aux = offsetof(%s, %s_present)" % (s.ctype, f.c))
    gt = "KAFKA_GT_STRUCT" if f.struct else PRIMS[f.base][1]
    rest = [".type = %s" % gt]
    if flags:
        rest.append(".flags = %s" % " | ".join(flags))
    for key, rng in (("v", f.versions), ("n", f.nullable), ("t", f.tagged)):
        if rng[0] < 0:
            rest.append(".%s_min = -1" % key)  # never; _max is then unused
        else:
            rest.append(".%s_min = %s, .%s_max = %s" % ((key,) + (vrange(rng).split(", ")[0], key) +
                                                         (vrange(rng).split(", ")[1],)))
    if f.tag >= 0:
        rest.append(".tag = %d" % f.tag)
    if f.array:
        pass  # array defaults are only "empty" or "null" (flag above)
    elif f.base in INT_TYPES or f.base == "bool":
        d = f.int_default()
        if d:
            rest.append(".def_int = %s" % ("INT64_C(%d)" % d))
    elif f.base == "float64" and f.default is not None and not f.null_default:
        rest.append(".def_f64 = %r" % float(f.default))
    elif f.base == "string":
        d = f.str_default()
        if d is not None:
            rest.append(".def_str = %s" % c_string(d))
    if f.struct:
        rest.append(".sub = &%s_desc" % f.struct.ctype)
    return "    {" + ", ".join(parts) + ",\n     " + ", ".join(rest) + "},"


def emit_struct_desc(s, out):
    order = s.desc_order()
    if order:
        out.append("static const kafka_gen_field %s_fields[] = {" % s.ctype)
        for f in order:
            out.append(emit_field_desc(s, f))
        out.append("};")
    out.append("static const kafka_gen_struct %s_desc = {" % s.ctype)
    out.append("    .name = %s, .tagged_name = %s," % (c_string(s.path), c_string(s.path + "._tagged_fields")))
    out.append("    .size = sizeof(%s), .nfields = %d, .fields = %s," % (
        s.ctype, len(order), (s.ctype + "_fields") if order else "NULL"))
    out.append("};")
    out.append("")


HEADER_NOTE = "generated by tools/kafka_codegen.py from %s — do not edit"


def emit_api_header(api):
    guard = "KAFKA_PROTOCOL_GEN_%s_H" % api.file.upper()
    out = ["/* " + HEADER_NOTE % (api.req.file + ", " + api.resp.file) + " */",
           "/* API key %d (%s), versions %d-%d. Ownership: decoded strings, bytes and" % (
               api.key, api.base, api.req.valid[0], api.req.valid[1]),
           " * records are views into the decoded buffer; decoded arrays live in the",
           " * kafka_arena passed to decode. See src/protocol/gen_runtime.h for the rules. */",
           "#ifndef " + guard, "#define " + guard, "", '#include "protocol/gen_runtime.h"', ""]
    for m in (api.req, api.resp):
        for s in m.ordered_structs():
            emit_struct_def(s, out)
    for m in (api.req, api.resp):
        t = m.ctype
        out.append("/* %s (%s): body codecs, no header. */" % (m.name, m.kind))
        out.append("extern const kafka_gen_message %s_msg;" % t)
        out.append("void %s_init(%s *m);" % (t, t))
        out.append("kafka_err %s_encode(kafka_wbuf *w, int16_t version, const %s *m);" % (t, t))
        out.append("kafka_err %s_decode(kafka_rbuf *r, kafka_arena *arena, int16_t version, %s *m);" % (t, t))
        out.append("size_t %s_size(int16_t version, const %s *m);" % (t, t))
        for s in m.ordered_structs():
            if s is not m.root:
                out.append("void %s_init(%s *s);" % (s.ctype, s.ctype))
        out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


def emit_api_source(api):
    out = ["/* " + HEADER_NOTE % (api.req.file + ", " + api.resp.file) + " */",
           '#include "protocol/gen/%s.h"' % api.file, "", "#include <stddef.h>", ""]
    for m in (api.req, api.resp):
        for s in m.ordered_structs():
            emit_struct_desc(s, out)
        t = m.ctype
        out.append("const kafka_gen_message %s_msg = {" % t)
        out.append("    .name = %s, .api_key = %d, .min_version = %d, .max_version = %d," % (
            c_string(m.name), m.api_key, m.valid[0], m.valid[1]))
        out.append("    .flexible_min = %d, .root = &%s_desc," % (m.flex[0], t))
        out.append("};")
        out.append("")
        out.append("void %s_init(%s *m) { kafka_gen_init(&%s_desc, m); }" % (t, t, t))
        out.append("kafka_err %s_encode(kafka_wbuf *w, int16_t version, const %s *m)" % (t, t))
        out.append("{")
        out.append("    return kafka_gen_encode(w, &%s_msg, version, m);" % t)
        out.append("}")
        out.append("kafka_err %s_decode(kafka_rbuf *r, kafka_arena *arena, int16_t version, %s *m)" % (t, t))
        out.append("{")
        out.append("    return kafka_gen_decode(r, arena, &%s_msg, version, m);" % t)
        out.append("}")
        out.append("size_t %s_size(int16_t version, const %s *m) { return kafka_gen_size(&%s_msg, version, m); }" % (
            t, t, t))
        for s in m.ordered_structs():
            if s is not m.root:
                out.append("void %s_init(%s *s) { kafka_gen_init(&%s_desc, s); }" % (s.ctype, s.ctype, s.ctype))
        out.append("")
    return "\n".join(out)


def emit_api_keys(apis):
    out = ["/* " + HEADER_NOTE % "the *Request.json schemas" + " */",
           "#ifndef KAFKA_PROTOCOL_GEN_API_KEYS_H", "#define KAFKA_PROTOCOL_GEN_API_KEYS_H", "",
           "/* Every API key whose request listeners include \"broker\". */",
           "enum kafka_api_key {"]
    for a in apis:
        out.append("    %s = %d," % (a.enum, a.key))
    out.append("};")
    out.append("")
    out.append("#define KAFKA_API_KEY_MAX %d /* highest key above */" % apis[-1].key)
    out.append("#define KAFKA_API_COUNT %d /* number of keys above */" % len(apis))
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


def emit_api_table(apis):
    out = ["/* " + HEADER_NOTE % "the *Request.json / *Response.json schemas" + " */",
           '#include "protocol/api.h"', '#include "protocol/gen/all.h"', "",
           "const kafka_api_info kafka_gen_api_table[KAFKA_API_KEY_MAX + 1] = {"]
    for a in apis:
        out.append("    [%s] = {%d, %s, %d, %d, %d, %d, %s, &%s_msg, &%s_msg}," % (
            a.enum, a.key, c_string(a.base), a.req.valid[0], a.req.valid[1], a.req.flex[0], a.resp.flex[0],
            "true" if a.req.unstable else "false", a.req.ctype, a.resp.ctype))
    out.append("};")
    return "\n".join(out) + "\n"


def emit_all(apis):
    out = ["/* " + HEADER_NOTE % "the schemas" + " */", "#ifndef KAFKA_PROTOCOL_GEN_ALL_H",
           "#define KAFKA_PROTOCOL_GEN_ALL_H", "", '#include "protocol/gen/api_keys.h"']
    for a in apis:
        out.append('#include "protocol/gen/%s.h"' % a.file)
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


# ---- round-trip test emission -------------------------------------------------

def h32(text):
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF


def fill_value_expr(f, idx):
    """A deterministic, non-default value for one element (C expression)."""
    h = h32(f.path)
    b = f.base
    if b == "bool":
        return "true" if f.int_default() == 0 else "false"
    if b == "int8":
        return "(int8_t)(%d + v + %s)" % (20 + h % 60, idx)
    if b in ("int16", "uint16"):
        return "(%s)(%d + v + %s)" % (PRIMS[b][0], 100 + h % 20000, idx)
    if b in ("int32", "uint32"):
        return "(%s)(%d + v + %s)" % (PRIMS[b][0], 1000 + h % 1000000, idx)
    if b == "int64":
        return "(int64_t)(INT64_C(%d) + v + %s)" % ((1 << 40) + h, idx)
    if b == "float64":
        return "(%d.5 + v + %s)" % (h % 1000, idx)
    if b == "string":
        return "kafka_str_c(%s)" % c_string(f.path)
    if b in ("bytes", "records"):
        return "test_bytes(%s)" % c_string(f.path)
    if b == "uuid":
        return "test_uuid(%du, v, %s)" % (h, idx)
    raise AssertionError(b)


def eq_expr(f, a, b):
    if f.struct:
        return "cmp_%s(&%s, &%s)" % (f.struct.ctype, a, b)
    if f.base == "string":
        return "kafka_str_eq(%s, %s)" % (a, b)
    if f.base in ("bytes", "records"):
        return "test_bytes_eq(%s, %s)" % (a, b)
    if f.base == "uuid":
        return "memcmp(&%s, &%s, 16) == 0" % (a, b)
    return "%s == %s" % (a, b)


def null_stmt(f):
    """C statement that sets a nullable field to null."""
    if f.array:
        return "s->%s = NULL, s->%s_count = -1;" % (f.c, f.c)
    if f.struct:
        return "s->%s_present = false;" % f.c
    if f.base == "string":
        return "s->%s = KAFKA_STR_NULL;" % f.c
    if f.base in ("bytes", "records"):
        return "s->%s = KAFKA_BYTES_NULL;" % f.c
    die("%s: nullable %s is not supported" % (f.path, f.base))


def emit_fill(s, out):
    """fill_<struct>(arena, s, version, element index, nulls): sets every field
    the version has to a non-default value, or, when `nulls` is set, every
    field nullable in that version to null."""
    out.append("static void fill_%s(kafka_arena *a, %s *s, int v, int i, bool nulls)" % (s.ctype, s.ctype))
    out.append("{")
    out.append("    (void)a, (void)s, (void)v, (void)i, (void)nulls;")
    for f in s.fields:
        lo, hi = f.versions
        cond = []
        if lo > 0:
            cond.append("v >= %d" % lo)
        if hi != VMAX:
            cond.append("v <= %d" % hi)
        ind = "    "
        if cond:
            out.append("    if (%s) {" % " && ".join(cond))
            ind = "        "
        if f.nullable[0] >= 0:
            nlo, nhi = f.nullable
            ncond = ["nulls"] + (["v >= %d" % nlo] if nlo > lo else []) + (["v <= %d" % nhi] if nhi != VMAX else [])
            out.append(ind + "if (%s) {" % " && ".join(ncond))
            out.append(ind + "    " + null_stmt(f))
            out.append(ind + "} else {")
            ind += "    "
        if f.array:
            out.append(ind + "s->%s = kafka_arena_calloc(a, 2, sizeof *s->%s);" % (f.c, f.c))
            out.append(ind + "s->%s_count = 2;" % f.c)
            if f.struct:
                out.append(ind + "for (int k = 0; k < 2; k++) {")
                out.append(ind + "    %s_init(&s->%s[k]);" % (f.struct.ctype, f.c))
                out.append(ind + "    fill_%s(a, &s->%s[k], v, k, nulls);" % (f.struct.ctype, f.c))
                out.append(ind + "}")
            else:
                out.append(ind + "for (int k = 0; k < 2; k++)")
                out.append(ind + "    s->%s[k] = %s;" % (f.c, fill_value_expr(f, "k")))
        elif f.struct:
            if f.has_present:
                out.append(ind + "s->%s_present = true;" % f.c)
            out.append(ind + "fill_%s(a, &s->%s, v, i, nulls);" % (f.struct.ctype, f.c))
        else:
            out.append(ind + "s->%s = %s;" % (f.c, fill_value_expr(f, "i")))
        if f.nullable[0] >= 0:
            ind = ind[:-4]
            out.append(ind + "}")
        if cond:
            out.append("    }")
    out.append("}")
    out.append("")


def emit_cmp(s, out):
    out.append("static bool cmp_%s(const %s *x, const %s *y)" % (s.ctype, s.ctype, s.ctype))
    out.append("{")
    out.append("    (void)x, (void)y;")
    for f in s.fields:
        p = c_string(f.path)
        if f.array:
            out.append("    CHECK(x->%s_count == y->%s_count, %s);" % (f.c, f.c, p))
            out.append("    for (int32_t k = 0; k < x->%s_count; k++)" % f.c)
            out.append("        CHECK(%s, %s);" % (eq_expr(f, "x->%s[k]" % f.c, "y->%s[k]" % f.c), p))
        else:
            if f.has_present:
                out.append("    CHECK(x->%s_present == y->%s_present, %s);" % (f.c, f.c, p))
            out.append("    CHECK(%s, %s);" % (eq_expr(f, "x->" + f.c, "y->" + f.c), p))
    out.append("    return true;")
    out.append("}")
    out.append("")


def emit_tests(apis):
    out = ["/* " + HEADER_NOTE % "the schemas" + " */",
           "/* Round-trips every generated message at every valid version: fills every",
           " * field the version has with a non-default value derived from the field's",
           " * path, encodes, checks size, decodes, compares field by field, re-encodes",
           " * and compares bytes, then checks that every truncated prefix fails. */",
           '#include "protocol_gen_test.h"', '#include "protocol/gen/all.h"', ""]
    msgs = [m for a in apis for m in (a.req, a.resp)]
    for m in msgs:
        for s in m.ordered_structs():
            emit_fill(s, out)
            emit_cmp(s, out)
        t = m.ctype
        out.append("static void fillm_%s(kafka_arena *a, void *m, int v, bool nulls) { fill_%s(a, m, v, 0, nulls); }" % (
            t, t))
        out.append("static bool cmpm_%s(const void *x, const void *y) { return cmp_%s(x, y); }" % (t, t))
        out.append("static void initm_%s(void *m) { %s_init(m); }" % (t, t))
        out.append("static kafka_err encm_%s(kafka_wbuf *w, int16_t v, const void *m) { return %s_encode(w, v, m); }" % (t, t))
        out.append("static kafka_err decm_%s(kafka_rbuf *r, kafka_arena *a, int16_t v, void *m)" % t)
        out.append("{")
        out.append("    return %s_decode(r, a, v, m);" % t)
        out.append("}")
        out.append("static size_t sizem_%s(int16_t v, const void *m) { return %s_size(v, m); }" % (t, t))
        out.append("")
    out.append("static test_gen_case cases[] = { /* not const: cmocka takes void * state */")
    for m in msgs:
        t = m.ctype
        out.append("    {&%s_msg, sizeof(%s), fillm_%s, cmpm_%s, initm_%s, encm_%s, decm_%s, sizem_%s}," % (
            t, t, t, t, t, t, t, t))
    out.append("};")
    out.append("")
    out.append("int main(void)")
    out.append("{")
    out.append("    const struct CMUnitTest tests[] = {")
    for i, m in enumerate(msgs):
        out.append("        {%s, test_gen_roundtrip, NULL, NULL, &cases[%d]}," % (c_string(m.name), i))
    out.append("    };")
    out.append('    return cmocka_run_group_tests_name("protocol_gen", tests, NULL, NULL);')
    out.append("}")
    return "\n".join(out) + "\n"


# ---- main -------------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(root), "shared", "kafka-protocol", "message"))
    ap.add_argument("--out", default=os.path.join(root, "src", "protocol", "gen"))
    ap.add_argument("--tests-out", default=os.path.join(root, "tests", "unit", "test_protocol_gen.c"))
    args = ap.parse_args()
    if not os.path.isdir(args.schemas):
        die("schema directory not found: " + args.schemas)
    apis = load_apis(args.schemas)
    for a in apis:
        write(os.path.join(args.out, a.file + ".h"), emit_api_header(a))
        write(os.path.join(args.out, a.file + ".c"), emit_api_source(a))
    write(os.path.join(args.out, "api_keys.h"), emit_api_keys(apis))
    write(os.path.join(args.out, "api_table.c"), emit_api_table(apis))
    write(os.path.join(args.out, "all.h"), emit_all(apis))
    if args.tests_out:
        write(args.tests_out, emit_tests(apis))
    print("kafka_codegen: %d API keys, %d messages" % (len(apis), 2 * len(apis)))


if __name__ == "__main__":
    main()
