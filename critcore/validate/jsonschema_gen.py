"""Generates a Draft 2020-12 JSON Schema per image kind from the descriptors: what decode writes,
plain and pretty, and what encode accepts, nothing else. Built at run time, never by hand."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

from ..message import RESERVED_KEY, forms, reserved
from ..message.scalars import FLOAT32_LIMIT, INT_RANGES as _INT_RANGES
from ..schema import FieldDesc, ImageKind, Schema
from . import patterns

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE64 = {"type": "string", "pattern": patterns.whole(forms.BASE64), "contentEncoding": "base64"}


def schema_id(magic: str) -> str:
    return "urn:critcore:image:%s" % magic


def _ref(name: str) -> dict:
    return {"$ref": "#/$defs/" + name.replace("~", "~0").replace("/", "~1")}


class SchemaBuilder:
    """Builds the JSON Schema of one image kind; `defs` collects what its fields refer to.

    >>> from critcore.schema import default_schema
    >>> doc = SchemaBuilder(default_schema()).image(default_schema().image_kind("MM"))
    >>> doc["properties"]["magic"], sorted(doc["$defs"]["vma_entry"]["required"])[:2]
    ({'const': 'MM'}, ['end', 'fd'])
    """

    def __init__(self, schema: Schema):
        self.schema = schema
        self.defs: Dict[str, Any] = {}

    # ---- the whole image
    def image(self, kind: ImageKind) -> dict:
        self.defs = {}
        entries = getattr(self, "_entries_" + kind.layout)(kind)
        doc = {
            "$schema": DIALECT,
            "$id": schema_id(kind.name),
            "title": "CRIU %s image (crit JSON, plain or pretty)" % kind.name,
            "description": "Entries are %s messages (layout %s), as critcore decode writes "
                           "them and critcore encode reads them." % (kind.entry, kind.layout),
            "type": "object",
            "properties": {"magic": {"const": kind.name}, "entries": entries},
            "required": ["magic", "entries"],
            "additionalProperties": False,
            "$defs": dict(sorted(self.defs.items())),
        }
        return doc

    def _array(self, item: dict, **kw) -> dict:
        return dict({"type": "array", "items": item}, **kw)

    def _entries_plain(self, kind: ImageKind) -> dict:
        return self._array(self.message(kind.entry))

    def _entries_pagemap(self, kind: ImageKind) -> dict:
        return self._array(self.message(kind.entry), prefixItems=[self.message(kind.params["head"])],
                           description="entries[0] is the pagemap_head, the rest pagemap entries")

    def _with_extra(self, msg: str, tag: str, extra: dict, required: bool = True, **kw) -> dict:
        """A message with the "extra" key its layout adds (a def of its own)."""
        name = "%s:%s" % (tag, msg)
        if name not in self.defs:
            base = self.message_def(msg)
            d = dict(base, properties=dict(base["properties"], extra=extra))
            if required:
                d["required"] = base.get("required", []) + ["extra"]
            d.update(kw)
            self.defs[name] = d
        return _ref(name)

    def _entries_payload(self, kind: ImageKind) -> dict:
        sizes = " + ".join(kind.params["size"])
        extra = dict(BASE64, description="the payload: %s bytes, base64" % sizes)
        return self._array(self._with_extra(kind.entry, "payload", extra))

    def _entries_tcp_stream(self, kind: ImageKind) -> dict:
        extra = {"type": "object", "additionalProperties": False, "required": ["inq", "outq"],
                 "properties": {"inq": dict(BASE64, description="inq_len bytes"),
                                "outq": dict(BASE64, description="outq_len bytes")}}
        return self._array(self._with_extra(kind.entry, "tcp_stream", extra))

    def _entries_ipc_sem(self, kind: ImageKind) -> dict:
        extra = self._array({"type": "integer", "minimum": 0, "maximum": 0xFFFF},
                            description="nsems semaphore values")
        return self._array(self._with_extra(kind.entry, "ipc_sem", extra))

    def _entries_ipc_msg(self, kind: ImageKind) -> dict:
        # Pairs [message, data, message, data, ...]: JSON Schema has no keyword for
        # alternation, so checks.py checks the order, the count and each data length.
        extra = self._array({"anyOf": [self.message(kind.params["msg"]), BASE64]},
                            description="qnum pairs of an ipc_msg and its msize bytes of data")
        return self._array(self._with_extra(kind.entry, "ipc_msg", extra))

    def _entries_ipc_shm(self, kind: ImageKind) -> dict:
        extra = dict(BASE64, description="the segment's size bytes, unless in_pagemaps")
        in_pm = {"properties": {"in_pagemaps": {"const": True}}, "required": ["in_pagemaps"]}
        return self._array(self._with_extra(
            kind.entry, "ipc_shm", extra, required=False, **{
                "if": in_pm,
                "then": {"not": {"required": ["extra"]},
                         "description": "an in_pagemaps segment has no inline data"},
                "else": {"required": ["extra"]}}))

    def _entries_ghost_file(self, kind: ImageKind) -> dict:
        head = self._with_extra(kind.entry, "ghost_file", dict(
            BASE64, description="the file's data, when not chunked"), required=False)
        chunk = self._with_extra(kind.params["chunk"], "ghost_file", dict(
            BASE64, description="len bytes of the file"))
        chunked = {"prefixItems": [{"properties": {"chunks": {"const": True}},
                                    "required": ["chunks"]}]}
        return self._array(chunk, prefixItems=[head], minItems=1, description=(
            "the ghost_file_entry, then (if it says chunks) ghost_chunk_entry entries"), **{
            "if": chunked,
            "then": {"prefixItems": [{"not": {"required": ["extra"]}, "description":
                                      "a chunked ghost file keeps its data in the chunks"}]},
            "else": {"maxItems": 1, "description": "an unchunked ghost file has exactly one entry"}})

    # ---- messages
    def message(self, name: str) -> dict:
        self.message_def(name)
        return _ref(name)

    def message_def(self, name: str) -> dict:
        d = self.defs.get(name)
        if d is None:
            desc = self.schema.message(name)
            d = self.defs[name] = {"type": "object"}  # registered first: messages can recurse
            props = {f.name: self.field(f) for f in desc.fields}
            props[RESERVED_KEY] = self.reserved(name)
            d["title"] = name
            d["description"] = "message %s (%s)" % (name, desc.file) if desc.file else name
            d["properties"] = props
            required = [f.name for f in desc.fields if f.label == "required"]
            if required:
                d["required"] = required
            d["additionalProperties"] = False  # last: jsonschema reports in keyword order
        return d

    def reserved(self, name: str) -> dict:
        """The reserved key (codec.RESERVED_KEY): what the wire held beyond the schema."""
        known, names = reserved.rules(self.schema.message(name))
        known, names = sorted(known), list(names)
        number = {"type": "integer", "minimum": 1, "maximum": reserved.MAX_FIELD_NUMBER}
        if known:
            number["not"] = {"enum": known}
        u64 = {"type": "integer", "minimum": 0, "maximum": (1 << 64) - 1}
        unknown = {"type": "array", "minItems": 3, "maxItems": 3,
                   "prefixItems": [number, {"enum": [0, 1, 2, 5]}, True],
                   "allOf": [
                       {"if": {"prefixItems": [True, {"const": 2}]},
                        "then": {"prefixItems": [True, True, BASE64]}},
                       {"if": {"prefixItems": [True, {"enum": [0, 1]}]},
                        "then": {"prefixItems": [True, True, u64]}},
                       {"if": {"prefixItems": [True, {"const": 5}]},
                        "then": {"prefixItems": [True, True, dict(u64, maximum=0xFFFFFFFF)]}}],
                   "description": "[field number, wire type, value]: value is an integer, or "
                                  "base64 for wire type 2"}
        listed = {"type": "array", "items": {"enum": names} if names else {"not": {}}}
        return {"type": "object", "additionalProperties": False,
                "description": "critcore's record of fields the schema does not know and of "
                               "repeated fields packed against their declaration",
                "properties": {"unknown": {"type": "array", "items": unknown},
                               "packed": listed, "unpacked": listed}}

    # ---- fields
    def field(self, f: FieldDesc) -> dict:
        item = self.scalar(f) if f.type != "message" else self.message(f.type_name)
        if not f.repeated:
            return item
        if f.criu.ipadd:
            return self.ip_list(f, item)
        return self._array(item)

    def ip_list(self, f: FieldDesc, words: dict) -> dict:
        # Pretty output shows an address as a list of one IPv4/IPv6 string; a list whose
        # first item is a string must be that, otherwise it is the words.
        text = {"type": "string", "pattern": patterns.anchored([forms.IPV4, forms.IPV6])}
        return {"type": "array",
                "if": {"minItems": 1, "prefixItems": [{"type": "string"}]},
                "then": {"minItems": 1, "maxItems": 1, "prefixItems": [text],
                         "description": "an address in text form is a list of one string"},
                "else": {"items": words}}

    def scalar(self, f: FieldDesc) -> dict:
        t, o = f.type, f.criu
        if t == "bool":
            return {"type": "boolean"}
        if t == "string":
            return {"type": "string", "pattern": patterns.whole(forms.TEXT)}
        if t == "bytes":
            if o.conv == "unix_name":
                return {"type": "string", "pattern": patterns.whole(forms.ASCII),
                        "contentEncoding": "quoted-printable"}
            return BASE64
        if t in ("float", "double"):
            if t == "double":
                return {"type": "number"}
            return {"type": "number", "exclusiveMinimum": -FLOAT32_LIMIT,
                    "exclusiveMaximum": FLOAT32_LIMIT}
        lo, hi = _INT_RANGES[t]
        if t == "enum":
            return self._def("enum:" + f.type_name, lambda: self.enum(f.type_name))
        if o.dev or o.odev:
            name = "%s:%s" % ("odev" if o.odev else "dev", t)
            return self._def(name, lambda: self.ints(t, patterns.dev_pattern(o.odev, hi),
                                                     "a device number or \"major:minor\""))
        if o.flags and o.flags in self.schema.flags:
            table = self.schema.flags[o.flags]
            return self._def("flags:%s:%s" % (o.flags, t), lambda: self.ints(
                t, patterns.flags_pattern(table, hi),
                "flags: a number or an expression of %s names and hex literals joined by |"
                % o.flags))
        names = self.schema.dicts.get(o.dict, {}).get(f.name) if o.dict else None
        if names:
            return self._def("dict:%s.%s:%s" % (o.dict, f.name, t), lambda: self.ints(
                t, patterns.names_pattern(sorted(set(names.values())), lo, hi),
                "a number, or one of the %s names" % o.dict))
        return self._def(t, lambda: self.ints(t, patterns.int_pattern(lo, hi),
                                              "an integer, or a hex or decimal string"))

    def _def(self, name: str, build) -> dict:
        if name not in self.defs:
            self.defs[name] = build()
        return _ref(name)

    @staticmethod
    def ints(t: str, pattern: str, what: str) -> dict:
        lo, hi = _INT_RANGES[t]
        return {"description": "%s: %s" % (t, what), "type": ["integer", "string"],
                "minimum": lo, "maximum": hi, "pattern": pattern}

    def enum(self, name: str) -> dict:
        e = self.schema.enum(name)
        lo, hi = _INT_RANGES["enum"]
        return {"description": "enum %s: a name, or any int32 (values the schema does not "
                               "know stay numbers)" % name,
                "type": ["integer", "string"], "minimum": lo, "maximum": hi,
                "pattern": patterns.names_pattern(n for n, _ in e.values)}


def image_schema(schema: Schema, magic: str) -> Optional[dict]:
    """The JSON Schema of one image kind (None: not a magic with protobuf entries)."""
    kind = schema.image_kind(magic)
    return None if kind is None else SchemaBuilder(schema).image(kind)


def all_image_schemas(schema: Schema) -> Dict[str, dict]:
    return {k.name: SchemaBuilder(schema).image(k) for k in schema.image_kinds()}


def magic_names(schema: Schema) -> List[str]:
    return sorted(k.name for k in schema.image_kinds())
