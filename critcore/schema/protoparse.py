"""A hand-written proto2 parser (tokenizer + recursive descent) for CRIU's images/*.proto and magic.h.
It produces plain, resolved descriptor documents: the same dicts tools/proto2yaml.py writes as YAML.

>>> docs = parse_sources({"a.proto": 'syntax = "proto2"; message m { optional uint32 x = 1 [(criu).hex = true]; }'})
>>> docs[0]["messages"][0]["fields"][0]
{'name': 'x', 'number': 1, 'label': 'optional', 'type': 'uint32', 'criu': {'hex': True}}
"""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Tuple

from ..errors import ProtoSyntaxError, SchemaError
from ..wire.wiretype import INT_RANGES as _INT_RANGES  # allowed integer defaults, as protoc checks

SCALARS = frozenset((
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
    "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"))
# Packable means "not length-delimited"; only those may carry [packed = true].
PACKABLE = SCALARS - {"string", "bytes"}
CRIU_OPTIONS = {"hex": bool, "ipadd": bool, "flags": str, "dev": bool, "odev": bool,
                "dict": str, "conv": str}
# descriptor.proto is never read: the only thing CRIU takes from it is FieldOptions.
BUILTIN_IMPORTS = frozenset(("google/protobuf/descriptor.proto",))

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+|\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<float>[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)
  | (?P<int>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<sym>[{}\[\]()<>;=,.\-+])
""", re.S | re.X)


class _Ident(str):
    """An unquoted identifier used as a constant (enum value name, inf, nan), as opposed to a
    quoted string; never stored in a doc (converted to str when checked)."""


class _Tok:
    __slots__ = ("kind", "text", "line", "col")

    def __init__(self, kind, text, line, col):
        self.kind, self.text, self.line, self.col = kind, text, line, col


def tokenize(text: str, fname: str) -> List[_Tok]:
    toks: List[_Tok] = []
    pos, line, linestart = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m:
            what = ("unterminated /* comment" if text.startswith("/*", pos) else
                    "unterminated string" if text[pos] in "\"'" else
                    "unexpected character %r" % text[pos])
            raise ProtoSyntaxError(what, fname, line, pos - linestart + 1)
        kind = m.lastgroup
        s = m.group()
        if kind not in ("ws", "comment"):
            toks.append(_Tok(kind, s, line, pos - linestart + 1))
        nl = s.count("\n")
        if nl:
            line += nl
            linestart = pos + s.rindex("\n") + 1
        pos = m.end()
    toks.append(_Tok("eof", "", line, pos - linestart + 1))
    return toks


def _int_value(tok: "_Tok", fname: str) -> int:
    t = tok.text
    try:
        return int(t, 8) if t.startswith("0") and t[1:].isdigit() else int(t, 0)
    except ValueError:
        raise ProtoSyntaxError("invalid integer %r" % t, fname, tok.line, tok.col) from None


MAX_FIELD_NUMBER = 536870911


def _unquote(s: str) -> str:
    body = s[1:-1]
    if "\\" not in body:
        return body
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape")


class _Parser:
    """Recursive descent over one file; types stay unresolved names until resolve()."""

    def __init__(self, text: str, fname: str):
        self.fname = fname
        self.toks = tokenize(text, fname)
        self.i = 0
        self.doc: dict = {"file": fname, "syntax": "proto2", "package": None, "imports": [],
                          "enums": [], "messages": []}
        self.defined: Dict[str, _Tok] = {}  # full name of every message and enum -> its name token

    def define(self, name: str, tok: _Tok) -> None:
        if name in self.defined:
            first = self.defined[name]
            self.error("%s is already defined at line %d" % (name, first.line), tok)
        self.defined[name] = tok

    # -- token helpers
    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, msg: str, tok: Optional[_Tok] = None):
        tok = tok or self.peek()
        raise ProtoSyntaxError(msg, self.fname, tok.line, tok.col)

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.text != text:
            self.error("expected %r, found %r" % (text, t.text or "end of file"), t)
        return t

    def accept(self, text: str) -> bool:
        if self.peek().text == text:
            self.i += 1
            return True
        return False

    def ident(self) -> str:
        t = self.next()
        if t.kind != "ident":
            self.error("expected a name, found %r" % (t.text or "end of file"), t)
        return t.text

    def type_ref(self) -> str:
        lead = "." if self.accept(".") else ""
        return lead + self.ident()

    def integer(self) -> int:
        neg = self.accept("-")
        t = self.next()
        if t.kind != "int":
            self.error("expected an integer, found %r" % t.text, t)
        v = _int_value(t, self.fname)
        return -v if neg else v

    def constant(self):
        t = self.peek()
        if t.kind == "str":
            parts = []
            while self.peek().kind == "str":
                parts.append(_unquote(self.next().text))
            return "".join(parts)
        if t.text in ("-", "+") or t.kind in ("int", "float"):
            sign = -1 if self.accept("-") else (self.accept("+") and 1) or 1
            t = self.next()
            if t.kind == "int":
                return sign * _int_value(t, self.fname)
            if t.kind == "float":
                return sign * float(t.text)
            if t.text in ("inf", "nan"):
                return sign * float(t.text)
            self.error("expected a number, found %r" % t.text, t)
        if t.kind == "ident":
            self.i += 1
            return {"true": True, "false": False}.get(t.text) if t.text in ("true", "false") else _Ident(t.text)
        self.error("expected a constant, found %r" % t.text, t)

    def option_name(self) -> str:
        if self.accept("("):
            name = "(" + self.type_ref() + ")"
            self.expect(")")
            while self.accept("."):
                name += "." + self.ident()
            return name
        return self.ident()

    def option_statement(self) -> None:
        """`option NAME = CONSTANT;` anywhere: checked for syntax, then dropped (none matters)."""
        self.expect("option")
        self.option_name()
        self.expect("=")
        self.constant()
        self.expect(";")

    # -- grammar
    def parse(self) -> dict:
        while self.peek().kind != "eof":
            t = self.peek()
            if t.text == "syntax":
                self.next()
                self.expect("=")
                tok = self.next()
                if tok.kind != "str":
                    self.error("expected a string", tok)
                self.doc["syntax"] = _unquote(tok.text)
                if self.doc["syntax"] not in ("proto2", "proto3"):
                    self.error("unknown syntax %r" % self.doc["syntax"], tok)
                self.expect(";")
            elif t.text == "import":
                self.next()
                if self.peek().text in ("public", "weak"):
                    self.next()
                tok = self.next()
                if tok.kind != "str":
                    self.error("expected a file name", tok)
                self.doc["imports"].append(_unquote(tok.text))
                self.expect(";")
            elif t.text == "package":
                self.next()
                self.doc["package"] = self.ident()
                self.expect(";")
            elif t.text == "option":
                self.option_statement()
            elif t.text == "message":
                self.next()
                self.message(self.prefix())
            elif t.text == "enum":
                self.next()
                self.enum(self.prefix())
            elif t.text == "extend":
                self.next()
                self.extend()
            elif t.text == "service":
                self.error("services are not supported in image protos")
            elif t.text == ";":
                self.next()
            else:
                self.error("unexpected %r at top level" % (t.text or "end of file"))
        return self.doc

    def prefix(self) -> str:
        return self.doc["package"] + "." if self.doc["package"] else ""

    def enum(self, scope: str) -> None:
        name_tok = self.peek()
        name = scope + self.ident()
        self.define(name, name_tok)
        values: List[list] = []
        where: List[_Tok] = []
        allow_alias = False
        ranges: List[Tuple[int, int]] = []
        rnames: List[str] = []
        self.expect("{")
        while not self.accept("}"):
            if self.accept(";"):
                continue
            if self.peek().text == "option":
                self.next()
                oname = self.option_name()
                self.expect("=")
                value = self.constant()
                self.expect(";")
                if oname == "allow_alias":
                    allow_alias = value is True
                continue
            if self.peek().text == "reserved":
                self.reserved(ranges, rnames, 2 ** 31 - 1)
                continue
            vtok = self.peek()
            vname = self.ident()
            self.expect("=")
            ntok = self.peek()
            num = self.integer()
            if not -2 ** 31 <= num < 2 ** 31:
                self.error("enum value %d out of range" % num, ntok)
            if self.accept("["):
                self.field_options({})
            self.expect(";")
            for (other, onum), otok in zip(values, where):
                if other == vname:
                    self.error("enum value %s is already defined in %s" % (vname, name), vtok)
                if onum == num and not allow_alias:
                    self.error("%s.%s uses the same value as %s; set option allow_alias = true "
                               "if that is intended" % (name, vname, other), ntok)
            values.append([vname, num])
            where.append(ntok)
        if not values:
            self.error("enum %s has no values" % name, name_tok)
        for (vname, num), tok in zip(values, where):
            self._check_reserved(name, vname, num, ranges, rnames, tok)
        self.doc["enums"].append({"name": name, "values": values})

    def _check_reserved(self, scope: str, name: str, number: int, ranges, names, tok: _Tok,
                        what: str = "reserved") -> None:
        if name in names:
            self.error("%s in %s uses the %s name %r" % (name, scope, what, name), tok)
        for lo, hi in ranges:
            if lo <= number <= hi:
                self.error("%s in %s uses %s number %d" % (name, scope, what, number), tok)

    def reserved(self, ranges: List[Tuple[int, int]], names: List[str], maximum: int) -> None:
        """`reserved` or `extensions`: numbers, `a to b`, `a to max` or quoted names (collected)."""
        self.next()
        while True:
            if self.peek().kind == "str":
                names.append(_unquote(self.next().text))
            else:
                tok = self.peek()
                lo = hi = self.integer()
                if self.accept("to"):
                    hi = maximum if self.accept("max") else self.integer()
                if hi < lo:
                    self.error("range %d to %d is empty" % (lo, hi), tok)
                ranges.append((lo, hi))
            if not self.accept(","):
                break
        if self.peek().text == "[":  # extensions 100 to 199 [declaration = ...]; not used by CRIU
            self.error("options on reserved or extension ranges are not supported")
        self.expect(";")

    def extend(self) -> None:
        # Only `extend google.protobuf.FieldOptions` (opts.proto) occurs; it defines the
        # (criu) option, which this parser knows natively, so the body is checked and dropped.
        self.type_ref()
        self.expect("{")
        scratch = {"name": "", "fields": []}
        while not self.accept("}"):
            if self.peek().kind == "eof":
                self.error("unexpected end of file inside extend block")
            self.field(scratch, "", None)

    def message(self, scope: str) -> None:
        name_tok = self.peek()
        name = scope + self.ident()
        self.define(name, name_tok)
        msg = {"name": name, "fields": []}
        self.doc["messages"].append(msg)
        self.expect("{")
        reserved: List[Tuple[int, int]] = []
        rnames: List[str] = []
        extensions: List[Tuple[int, int]] = []
        self.message_body(msg, name + ".", None, (reserved, rnames, extensions))
        for f in msg["fields"]:
            tok = _Tok("int", "", *f["_pos"])
            self._check_reserved(name, f["name"], f["number"], reserved, rnames, tok)
            self._check_reserved(name, f["name"], f["number"], extensions, [], tok, "extension")

    def message_body(self, msg: dict, scope: str, oneof: Optional[str] = None, ranges=None) -> None:
        while not self.accept("}"):
            t = self.peek()
            if t.kind == "eof":
                self.error("unexpected end of file inside message %s" % msg["name"])
            if t.text == ";":
                self.next()
            elif t.text == "message" and oneof is None:
                self.next()
                self.message(scope)
            elif t.text == "enum" and oneof is None:
                self.next()
                self.enum(scope)
            elif t.text == "reserved" and oneof is None:
                self.reserved(ranges[0], ranges[1], MAX_FIELD_NUMBER)
            elif t.text == "extensions" and oneof is None:
                self.reserved(ranges[2], [], MAX_FIELD_NUMBER)
            elif t.text == "option":
                self.option_statement()
            elif t.text == "oneof" and oneof is None:
                self.next()
                oname = self.ident()
                self.expect("{")
                self.message_body(msg, scope, oname)
            elif t.text == "extend":
                self.next()
                self.extend()
            else:
                self.field(msg, scope, oneof)

    def field(self, msg: dict, scope: str, oneof: Optional[str]) -> None:
        start = self.peek()
        if oneof is not None:
            if start.text in ("required", "optional", "repeated"):
                self.error("fields in oneof %s must not have a label" % oneof)
            label = "optional"
        elif start.text in ("required", "optional", "repeated"):
            label = self.next().text
        elif self.doc["syntax"] == "proto3":
            label = "optional"
        else:
            self.error("expected required, optional or repeated, found %r" % (start.text or "end of file"))
        if self.peek().text == "map" or self.peek().text == "group":
            self.error("%s fields are not supported" % self.peek().text)
        ftype = self.type_ref()
        name_tok = self.peek()
        fname = self.ident()
        if any(x["name"] == fname for x in msg["fields"]):
            self.error("field %s is already defined in %s" % (fname, msg["name"]), name_tok)
        self.expect("=")
        num_tok = self.peek()
        number = self.integer()
        if not 1 <= number <= MAX_FIELD_NUMBER or 19000 <= number <= 19999:
            self.error("field number %d out of range" % number, num_tok)
        f: dict = {"name": fname, "number": number, "label": label}
        if ftype in SCALARS:
            f["type"] = ftype
        else:
            f["type"] = "?"
            f["type_name"] = ftype
        opts: dict = {}
        if self.accept("["):
            self.field_options(opts)
        self.expect(";")
        if opts.pop("packed", False):
            # Named types are checked in _resolve: repeated enums may be packed, messages not.
            if label != "repeated" or (ftype in SCALARS and ftype not in PACKABLE):
                self.error("[packed = true] on a field that cannot be packed", start)
            f["packed"] = True
        if "default" in opts:
            if label == "repeated":
                self.error("repeated fields cannot have a default", start)
            f["default"] = opts.pop("default")
        if opts.pop("deprecated", False):
            f["deprecated"] = True
        if oneof is not None:
            f["oneof"] = oneof
        criu = opts.pop("criu", None)
        if criu:
            f["criu"] = criu
        for other in opts:
            self.error("unknown field option %r" % other, start)
        if any(x["number"] == number for x in msg["fields"]):
            self.error("field number %d used twice in %s" % (number, msg["name"]), num_tok)
        f["_pos"] = (start.line, start.col)
        msg["fields"].append(f)

    def field_options(self, opts: dict) -> None:
        while True:
            tok = self.peek()
            name = self.option_name()
            self.expect("=")
            value = self.constant()
            if name.startswith("(criu)."):
                key = name[len("(criu)."):]
                want = CRIU_OPTIONS.get(key)
                if want is None:
                    self.error("unknown (criu) option %r" % key, tok)
                if not isinstance(value, want) or isinstance(value, _Ident):
                    self.error("(criu).%s wants a %s" % (key, want.__name__), tok)
                opts.setdefault("criu", {})[key] = value
            elif name in ("default", "packed", "deprecated", "json_name", "lazy", "ctype", "jstype"):
                if name in ("packed", "deprecated") and not isinstance(value, bool):
                    self.error("%s wants true or false" % name, tok)
                if name in ("default", "packed", "deprecated"):
                    opts[name] = value
            else:
                self.error("unknown field option %r" % name, tok)
            if self.accept("]"):
                return
            self.expect(",")


def _resolve(docs: List[dict]) -> None:
    """Turn type references into fully-qualified names and type kinds (message or enum)."""
    by_file = {d["file"]: d for d in docs}
    kinds: Dict[str, Dict[str, str]] = {}
    owner: Dict[str, str] = {}
    for d in docs:
        table = kinds.setdefault(d["file"], {})
        for kind, items in (("message", d["messages"]), ("enum", d["enums"])):
            for x in items:
                if x["name"] in owner and owner[x["name"]] != d["file"]:
                    raise SchemaError("%s %s is already defined in %s" % (kind, x["name"], owner[x["name"]]),
                                      file=d["file"])
                owner[x["name"]] = d["file"]
                table[x["name"]] = kind
        # Packages are scopes too: `pkg.Type` and, inside package a.b, `b.Type` must resolve.
        if d["package"]:
            parts = d["package"].split(".")
            for k in range(1, len(parts) + 1):
                table.setdefault(".".join(parts[:k]), "package")

    def visible(fname: str, seen=None) -> Dict[str, str]:
        # Own definitions plus everything imported, transitively (permissive on purpose:
        # protoc would require direct imports, but accepting more never changes a resolution).
        seen = seen if seen is not None else set()
        if fname in seen:
            return {}
        seen.add(fname)
        out = dict(kinds.get(fname, {}))
        for imp in by_file[fname]["imports"]:
            base = os.path.basename(imp)
            if imp in BUILTIN_IMPORTS:
                continue
            if base not in by_file:
                raise SchemaError("import %r not found" % imp, file=fname)
            for k, v in visible(base, seen).items():
                out.setdefault(k, v)
        return out

    enums_by_name = {e["name"]: e for d in docs for e in d["enums"]}
    for d in docs:
        table = visible(d["file"])
        for m in d["messages"]:
            scope = m["name"].split(".")
            for f in m["fields"]:
                pos = f.pop("_pos", (0, 0))
                if f["type"] != "?":
                    _check_default(f, None, d["file"], pos)
                    continue
                ref = f["type_name"]
                found = None
                if ref.startswith("."):
                    found = ref[1:] if ref[1:] in table else None
                else:
                    first = ref.split(".")[0]
                    for k in range(len(scope), -1, -1):
                        cand = ".".join(scope[:k] + [first])
                        if cand in table:
                            cand = ".".join(scope[:k] + [ref])
                            found = cand if cand in table else None
                            break
                if found is None or table[found] == "package":
                    raise ProtoSyntaxError("unknown type %r in %s.%s" % (ref, m["name"], f["name"]),
                                           d["file"], *pos)
                f["type"] = table[found]
                f["type_name"] = found
                if f["type"] == "message" and (f.get("packed") or "default" in f):
                    raise ProtoSyntaxError("message field %s cannot be packed or have a default"
                                           % f["name"], d["file"], *pos)
                _check_default(f, enums_by_name.get(found), d["file"], pos)
            _order_keys(m)


def _check_default(f: dict, enum: Optional[dict], fname: str, pos: Tuple[int, int]) -> None:
    if "default" not in f:
        return
    v, t = f["default"], f["type"]
    ident = isinstance(v, _Ident)  # unquoted: only enum value names, inf and nan
    if ident:
        v = f["default"] = float(v) if t in ("float", "double") and v in ("inf", "nan") else str(v)
    ok = {
        "bool": lambda: isinstance(v, bool),
        "string": lambda: isinstance(v, str) and not ident,
        "bytes": lambda: isinstance(v, str) and not ident,
        "float": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
        "double": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
        "enum": lambda: ident and enum is not None and v in [n for n, _ in enum["values"]],
    }.get(t, lambda: isinstance(v, int) and not isinstance(v, bool))
    if not ok():
        raise ProtoSyntaxError("default %r does not fit field %s of type %s" % (v, f["name"], t), fname, *pos)
    lo, hi = _INT_RANGES.get(t, (None, None)) if t != "enum" else (None, None)
    if lo is not None and not lo <= v <= hi:
        raise ProtoSyntaxError("default %d is out of range for field %s of type %s" % (v, f["name"], t),
                               fname, *pos)


_KEY_ORDER = ("name", "number", "label", "type", "type_name", "packed", "default",
              "deprecated", "oneof", "criu")


def _order_keys(m: dict) -> None:
    m["fields"] = [{k: f[k] for k in _KEY_ORDER if k in f} for f in m["fields"]]


def parse_sources(sources: Dict[str, str]) -> List[dict]:
    """Parse and resolve a set of .proto texts keyed by file name; returns docs sorted by file."""
    docs = [_Parser(text, name).parse() for name, text in sorted(sources.items())]
    _resolve(docs)
    return docs


def read_proto_dir(src: str) -> Dict[str, str]:
    """The .proto files of a CRIU tree (SRC/images/*.proto) or of a flat directory."""
    d = os.path.join(src, "images") if os.path.isdir(os.path.join(src, "images")) else src
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".proto"):
            with open(os.path.join(d, name), encoding="utf-8") as fh:
                out[name] = fh.read()
    return out


_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z0-9_]+)_MAGIC[ \t]+([A-Za-z0-9_]+)\b", re.M)


def parse_magic_h(text: str, fname: str = "magic.h") -> dict:
    """magic.h's `#define NAME_MAGIC value` lines: primary magics in file order, plus aliases.

    >>> parse_magic_h("#define A_MAGIC 0x10\\n#define B_MAGIC A_MAGIC\\n")
    {'file': 'magic.h', 'magics': [['A', 16]], 'aliases': [['B', 'A']]}
    """
    magics: List[list] = []
    aliases: List[list] = []
    known: Dict[str, int] = {}
    primary: Dict[str, str] = {}  # every name -> the primary name it stands for
    for m in _DEFINE.finditer(text):
        name, value = m.group(1), m.group(2)
        if name in known:
            line = text.count("\n", 0, m.start()) + 1
            raise ProtoSyntaxError("%s_MAGIC is defined twice" % name, fname, line, 1)
        if value.endswith("_MAGIC"):
            target = value[:-len("_MAGIC")]
            if target not in known:
                line = text.count("\n", 0, m.start()) + 1
                raise ProtoSyntaxError("%s_MAGIC refers to unknown %s" % (name, value), fname, line, 1)
            # An alias of an alias still names the primary, so every alias target is in magics.
            aliases.append([name, primary[target]])
            primary[name] = primary[target]
            known[name] = known[target]
        else:
            try:
                v = int(value, 0)
            except ValueError:
                line = text.count("\n", 0, m.start()) + 1
                raise ProtoSyntaxError("cannot read magic value %r" % value, fname, line, 1) from None
            magics.append([name, v])
            known[name] = v
            primary[name] = name
    return {"file": fname, "magics": magics, "aliases": aliases}
