"""--proto-dir: .proto files (or proto2yaml YAML) parsed at run time, laid over the bundled schema.
The merged result is cached as JSON under a checksum of every input, so it is never stale."""
from __future__ import annotations

import functools
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict

from ..errors import SchemaError
from .loader import (Schema, _parse_yaml_files, _read_yaml_dir, bundled_schema_dir, cached_json,
                     content_key)

# Bump when the overlay's output for the same inputs changes (merge rules, JSON layout).
OVERLAY_VERSION = b"1"
# The cached result also depends on this code: its size and mtime join the key, so a changed
# parser (a development checkout, an upgrade) never reads an entry written by the old one.
_CODE = ("protoparse.py", "overlay.py", "loader.py")


def read_sources(path: str) -> Dict[str, bytes]:
    """Every file the overlay reads, keyed "proto/NAME", "magic.h" or "yaml/NAME".

    .proto files sit in DIR/images/ (a CRIU tree) or in DIR; magic.h in DIR or DIR/images;
    YAML (descriptors from tools/proto2yaml.py, magic.yaml, images.yaml, pretty.yaml) in DIR.
    """
    if not os.path.isdir(path):
        raise SchemaError("not a directory" if os.path.exists(path) else "no such directory",
                          file=path)
    images = os.path.join(path, "images")
    has_images = os.path.isdir(images)
    files: Dict[str, bytes] = {}
    for d in ((images, path) if has_images else (path,)):
        names = sorted(n for n in os.listdir(d) if n.endswith(".proto"))
        for name in names:
            files["proto/" + name] = _read(os.path.join(d, name))
        if names:
            break  # one directory of .proto files, never a mix of two
    for d in (path, images):
        if os.path.isfile(os.path.join(d, "magic.h")):
            files["magic.h"] = _read(os.path.join(d, "magic.h"))
            break
    for name in sorted(os.listdir(path)):
        if name.endswith(".yaml") and os.path.isfile(os.path.join(path, name)):
            files["yaml/" + name] = _read(os.path.join(path, name))
    if not files:
        raise SchemaError("no .proto, magic.h or YAML schema files here or in images/", file=path)
    return files


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _code_stamp() -> bytes:
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for name in _CODE:
        st = os.stat(os.path.join(here, name))
        parts.append(b"%s:%d:%d" % (name.encode(), st.st_size, st.st_mtime_ns))
    return b";".join(parts)


def is_complete(files: Dict[str, bytes]) -> bool:
    """A whole schema set (it has magic.h or magic.yaml), as opposed to a few dropped-in files."""
    return "magic.h" in files or "yaml/magic.yaml" in files


def parse_dir(files: Dict[str, bytes], base: dict) -> dict:
    """The directory's own bundle {"docs", "magic", "images", "pretty"}. Imports of files it
    lacks (opts.proto, fown.proto, ...) resolve against `base`, which is not changed."""
    yaml_files = {n[5:]: data for n, data in files.items() if n.startswith("yaml/")}
    own = _parse_yaml_files(yaml_files) if yaml_files else {
        "docs": [], "magic": None, "images": {}, "pretty": {"flags": {}, "dicts": {}}}
    protos = {}
    for n, data in files.items():
        if n.startswith("proto/"):
            try:
                protos[n[6:]] = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise SchemaError("not UTF-8 text (byte %d)" % e.start, file=n[6:]) from None
    if protos:
        # The parser's resolver sees only names: the context files are stand-ins carrying
        # their package, imports, message names and enums, never fields to check or change.
        from .protoparse import _Parser, _resolve
        docs = [_Parser(text, name).parse() for name, text in sorted(protos.items())]
        seen = {x["name"] for d in docs for x in d["messages"] + d["enums"]}
        context = []
        for d in own["docs"] + base["docs"]:
            if d["file"] in protos or any(c["file"] == d["file"] for c in context):
                continue
            context.append(_stand_in(d, seen))
        _resolve(docs + context)
        own["docs"] = [d for d in own["docs"] if d["file"] not in protos] + docs
    if "magic.h" in files:
        from .protoparse import parse_magic_h
        try:
            text = files["magic.h"].decode("utf-8")
        except UnicodeDecodeError as e:
            raise SchemaError("not UTF-8 text (byte %d)" % e.start, file="magic.h") from None
        own["magic"] = _merge_magic(own["magic"], parse_magic_h(text))
    return own


def _stand_in(doc: dict, seen: set) -> dict:
    # Names defined earlier (by the overlay) win: a message moved to another file is no clash.
    msgs = [{"name": m["name"], "fields": []} for m in doc.get("messages") or ()
            if m["name"] not in seen]
    enums = [e for e in doc.get("enums") or () if e["name"] not in seen]
    seen.update(x["name"] for x in msgs + enums)
    return {"file": doc["file"], "package": doc.get("package"), "imports": doc.get("imports") or [],
            "messages": msgs, "enums": enums}


def _merge_magic(base, top) -> dict:
    """magic docs merged by name, `top` winning; its primaries come first so that a value both
    name (a rename in a newer CRIU) decodes under the newer name."""
    base = base or {}
    top = top or {}
    magics = {n: v for n, v in top.get("magics") or ()}
    aliases = {n: t for n, t in top.get("aliases") or ()}
    for n, v in base.get("magics") or ():
        if n not in magics and n not in aliases:
            magics[n] = v
    for n, t in base.get("aliases") or ():
        if n not in magics and n not in aliases:
            aliases[n] = t
    return {"file": top.get("file") or base.get("file"),
            "magics": [[n, v] for n, v in magics.items()],
            "aliases": [[n, t] for n, t in aliases.items()]}


def merge(base: dict, own: dict) -> dict:
    """`own` laid over `base`: same-named messages, enums, magics, image kinds and pretty
    tables replace the bundled ones, new ones are added."""
    names = {x["name"] for d in own["docs"]
             for x in (d.get("messages") or []) + (d.get("enums") or [])}
    docs = []
    for d in base["docs"]:
        msgs = [m for m in d.get("messages") or () if m["name"] not in names]
        enums = [e for e in d.get("enums") or () if e["name"] not in names]
        if msgs or enums:
            docs.append(dict(d, messages=msgs, enums=enums))
    docs += own["docs"]
    bi, oi = base["images"] or {}, own["images"] or {}
    images = {"images": dict(bi.get("images") or {}, **(oi.get("images") or {}))}
    head = {k: list(v or ()) for k, v in (bi.get("head") or {}).items()}
    for k, v in (oi.get("head") or {}).items():
        head[k] = head.get(k, []) + [n for n in v or () if n not in head.get(k, [])]
    images["head"] = head
    braw, oraw = bi.get("raw") or {}, oi.get("raw") or {}
    images["raw"] = {
        "magics": list(braw.get("magics") or ()) + [m for m in oraw.get("magics") or ()
                                                    if m not in (braw.get("magics") or ())],
        "names": dict(braw.get("names") or {}, **(oraw.get("names") or {}))}
    bp, op = base["pretty"], own["pretty"]
    dicts = {m: dict(f) for m, f in bp["dicts"].items()}
    for m, f in op["dicts"].items():
        dicts[m] = dict(dicts.get(m, {}), **f)
    pretty = {"flags": dict(bp["flags"], **op["flags"]), "dicts": dicts}
    return {"docs": docs, "magic": _merge_magic(base["magic"], own["magic"]), "images": images,
            "pretty": pretty}


def _inputs(path: str) -> tuple:
    """(content key, overlay files, bundled key, bundled files): everything a result depends on."""
    files = read_sources(path)
    base_key, base_files = _read_yaml_dir(bundled_schema_dir())
    key = content_key(dict(files, **{"\0base": base_key.encode(), "\0code": _code_stamp(),
                                     "\0version": OVERLAY_VERSION}))
    return key, tuple(files.items()), base_key, tuple(base_files.items())


def _build(inputs: tuple, use_cache: bool, own_only: bool = False) -> dict:
    key, files, base_key, base_files = inputs
    base = cached_json("schema-%s.json" % base_key, lambda: _parse_yaml_files(dict(base_files)),
                       use_cache)
    own = parse_dir(dict(files), base)
    return own if own_only else merge(base, own)


def overlay_bundle(path: str, use_cache: bool = True) -> dict:
    """The bundled schema with `path` laid over it, through the JSON cache when possible."""
    inputs = _inputs(path)
    return cached_json("overlay-%s.json" % inputs[0], lambda: _build(inputs, use_cache), use_cache)


def own_bundle(path: str, use_cache: bool = True) -> dict:
    """What `path` alone defines (schema diff); imports still resolve against the bundled schema."""
    inputs = _inputs(path)
    return cached_json("own-%s.json" % inputs[0], lambda: _build(inputs, use_cache, True),
                       use_cache)


def overlay_schema(path: str) -> Schema:
    """The Schema for --proto-dir `path`: one per content within a process, so edits show."""
    return _schema(_inputs(path))


@functools.lru_cache(maxsize=8)
def _schema(inputs: tuple) -> Schema:
    # Keyed by the inputs themselves (content included), and built from exactly those bytes.
    return Schema(cached_json("overlay-%s.json" % inputs[0], lambda: _build(inputs, True)))
