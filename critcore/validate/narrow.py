"""Finds the parts of a document the encoder rejects, so that jsonschema explains only those:
its cost grows with the bad parts, not with the 50,000 good VMAs around them."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Optional

from ..errors import CritError
from ..image.layouts import LAYOUTS, Ctx
from ..image.stream import Writer
from ..message import PLAIN, MessageCodec
from ..schema import ImageKind, Schema

# Lists shorter than this are left to jsonschema whole: narrowing them gains nothing.
SPLIT_AT = 16

def ref_name(sub: dict) -> Optional[str]:
    ref = sub.get("$ref", "") if isinstance(sub, dict) else ""
    return ref[len("#/$defs/"):].replace("~1", "/").replace("~0", "~") if ref else None


def failing_parts(img, kind: ImageKind, schema: Schema, doc: dict) -> Iterator[tuple]:
    """(path, instance, $defs name or None for the whole schema) of the smallest parts of
    `img` the encoder rejects. Parts that pass the encoder pass the JSON Schema too (the
    differential test proves it), so nothing is lost by skipping them."""
    entries = img.get("entries") if isinstance(img, dict) else None
    if not isinstance(entries, list) or kind.layout == "ghost_file":
        # Ghost files are a few entries whose rules span them (chunks): check them whole.
        yield [], img, None
        return
    yield [], dict(img, entries=[]), None  # magic, keys, "entries" itself
    spec = doc["properties"]["entries"]
    first, rest = ref_name((spec.get("prefixItems") or [{}])[0]), ref_name(spec["items"])
    ctx = Ctx(kind, schema, PLAIN, False)
    write = LAYOUTS[kind.layout].write
    pagemap = kind.layout == "pagemap"  # write() would take any first entry for the head
    for i, e in enumerate(entries):
        name = first if i == 0 and first else rest
        msg = kind.params["head"] if pagemap and i == 0 else kind.entry
        try:
            if pagemap:
                MessageCodec.get(schema, msg).encode(e)
            else:
                write([e], Writer(), ctx)
            continue
        except CritError:
            pass
        yield from _narrow(["entries", i], e, name, msg, schema)


def _narrow(path: list, inst, def_name: str, msg: str, schema: Schema) -> Iterator[tuple]:
    """The failing items of `inst`'s long repeated message fields, then `inst` without them."""
    if not isinstance(inst, dict):
        yield path, inst, def_name
        return
    emptied = None
    for f in schema.message(msg).fields:
        items = inst.get(f.name)
        if f.type != "message" or not f.repeated or type(items) is not list \
                or len(items) < SPLIT_AT:
            continue
        codec = MessageCodec.get(schema, f.type_name)
        for j, item in enumerate(items):
            try:
                codec.encode(item)
            except CritError:
                yield from _narrow(path + [f.name, j], item, f.type_name, f.type_name, schema)
        if emptied is None:
            emptied = dict(inst)
        emptied[f.name] = []  # always valid for a repeated message field
    yield path, inst if emptied is None else emptied, def_name
