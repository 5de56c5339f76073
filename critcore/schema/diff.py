"""`critcore schema diff OLD NEW`: the messages, fields, enums and magics that differ between two
schema sets, each "bundled", a directory of .proto files (and magic.h), or proto2yaml YAML."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Tuple

from .loader import Schema, bundled_schema, bundled_schema_dir, load_bundle

BUNDLED = "bundled"


def load_side(arg: str) -> Tuple[dict, Schema]:
    """(what the side defines, the Schema --proto-dir would use for it).

    A directory with magic.h or magic.yaml is a whole schema set and stands alone, so what
    it lacks shows as removed; one without is a drop-in, compared as laid over the bundle.
    """
    if arg == BUNDLED:
        return load_bundle(bundled_schema_dir()), bundled_schema()
    from .overlay import is_complete, overlay_bundle, overlay_schema, own_bundle, read_sources
    bundle = own_bundle(arg) if is_complete(read_sources(arg)) else overlay_bundle(arg)
    return bundle, overlay_schema(arg)


def _index(bundle: dict) -> Tuple[Dict[str, Tuple[dict, str]], Dict[str, list]]:
    msgs, enums = {}, {}
    for doc in bundle["docs"]:
        for m in doc.get("messages") or ():
            msgs[m["name"]] = (m, doc.get("file", ""))
        for e in doc.get("enums") or ():
            enums[e["name"]] = e["values"]
    return msgs, enums


def _magics(bundle: dict) -> Dict[str, str]:
    magic = bundle["magic"] or {}
    out = {n: "%#x" % int(v) for n, v in magic.get("magics") or ()}
    out.update((n, "alias of %s" % t) for n, t in magic.get("aliases") or ())
    return out


def describe(f: dict) -> str:
    """One field as a .proto-like line without its number: `optional uint64 madv [hex]`.

    >>> describe({"name": "x", "number": 1, "label": "repeated", "type": "uint32", "packed": True})
    'repeated uint32 x [packed]'
    """
    opts = []
    if f.get("packed"):
        opts.append("packed")
    if "default" in f:
        opts.append("default = %r" % (f["default"],))
    if f.get("deprecated"):
        opts.append("deprecated")
    if f.get("oneof"):
        opts.append("oneof %s" % f["oneof"])
    for k, v in sorted((f.get("criu") or {}).items()):
        opts.append(k if v is True else "%s = %s" % (k, v))
    text = "%s %s %s" % (f["label"], f.get("type_name") or f["type"], f["name"])
    return text + (" [%s]" % ", ".join(opts) if opts else "")


def _fields_diff(old: dict, new: dict) -> List[str]:
    a = {f["number"]: f for f in old["fields"]}
    b = {f["number"]: f for f in new["fields"]}
    lines = []
    for num in sorted(set(a) | set(b)):
        if num not in a:
            lines.append("+ %d: %s" % (num, describe(b[num])))
        elif num not in b:
            lines.append("- %d: %s" % (num, describe(a[num])))
        elif describe(a[num]) != describe(b[num]):
            lines.append("~ %d: %s -> %s" % (num, describe(a[num]), describe(b[num])))
    return lines


def _values_diff(old: list, new: list) -> List[str]:
    a, b = dict((n, int(v)) for n, v in old), dict((n, int(v)) for n, v in new)
    lines = ["- %s = %d" % (n, a[n]) for n in a if n not in b]
    lines += ["+ %s = %d" % (n, b[n]) for n in b if n not in a]
    lines += ["~ %s = %d -> %d" % (n, a[n], b[n]) for n in a if n in b and a[n] != b[n]]
    return lines


def _section(title: str, old: dict, new: dict, new_line, changes) -> List[str]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = [(n, changes(n)) for n in sorted(set(old) & set(new))]
    changed = [(n, c) for n, c in changed if c]
    if not (added or removed or changed):
        return []
    out = ["%s: %d new, %d removed, %d changed" % (title, len(added), len(removed), len(changed))]
    out += ["  + %s" % new_line(n) for n in added]
    out += ["  - %s" % n for n in removed]
    for n, lines in changed:
        if len(lines) == 1 and not lines[0].startswith(("+", "-", "~")):
            out.append("  ~ %s: %s" % (n, lines[0]))
        else:
            out.append("  ~ %s" % n)
            out += ["      " + line for line in lines]
    return out


def _entries(schema: Schema, name: str) -> str:
    kind = schema.image_kind(name) if name in schema.magics else None
    return kind.entry if kind is not None else "no protobuf entries"


def schema_diff(old: str, new: str) -> str:
    """What changed from schema set `old` to `new` (each "bundled" or a directory), as text."""
    ob, os_ = load_side(old)
    nb, ns = load_side(new)
    (om, oe), (nm, ne) = _index(ob), _index(nb)
    omag, nmag = _magics(ob), _magics(nb)
    out = ["--- %s" % old, "+++ %s" % new]
    out += _section(
        "messages", om, nm,
        lambda n: "%s (%s): %d field(s)" % (n, nm[n][1], len(nm[n][0]["fields"])),
        lambda n: _fields_diff(om[n][0], nm[n][0]))
    out += _section("enums", oe, ne, lambda n: "%s: %s" % (n, ", ".join(
        "%s = %s" % (v, k) for v, k in ne[n])), lambda n: _values_diff(oe[n], ne[n]))

    def magic_changes(n: str) -> List[str]:
        lines = [] if omag[n] == nmag[n] else ["%s -> %s" % (omag[n], nmag[n])]
        before, after = _entries(os_, n), _entries(ns, n)
        if before != after:
            lines.append("entries %s -> %s" % (before, after))
        return ["; ".join(lines)] if lines else []
    out += _section("magics", omag, nmag, lambda n: "%s = %s (entries: %s)" % (
        n, nmag[n], _entries(ns, n)), magic_changes)
    if len(out) == 2:
        out.append("no differences")
    return "\n".join(out) + "\n"
