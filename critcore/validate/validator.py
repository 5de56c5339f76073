"""Runs the generated JSON Schema (jsonschema, imported lazily) and checks.py over a document and
turns every finding into an EncodeError with its JSON path; encode calls it only on failure."""
from __future__ import annotations

import re
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import CritError, EncodeError, ValidationError
from ..message import LENIENT, RESERVED_KEY, MessageCodec
from ..message.convert import json_type
from ..schema import Schema, default_schema
from . import checks
from .jsonschema_gen import SchemaBuilder

DEFAULT_LIMIT = 20
_MEMO_KEY = ("critcore.validate", "Validator")


def format_path(parts: Sequence[Any]) -> str:
    """JSON path text of a list of keys and indexes.

    >>> format_path(["entries", 0, "vmas", 3, "prot"])
    'entries[0].vmas[3].prot'
    """
    out = ""
    for p in parts:
        out += "[%d]" % p if isinstance(p, int) else ("." + p if out else p)
    return out


class Validator:
    """Validates crit JSON documents of one schema; jsonschema validators are built once per
    image kind, on first use.

    >>> v = Validator()
    >>> [str(e) for e in v.errors({"magic": "PSTREE", "entries": [{"pid": 1, "ppid": "x"}]})]
    ["entries[0].ppid: 'x' is not a valid number", 'entries[0].pgid: required field is missing', \
'entries[0].sid: required field is missing']
    """

    def __init__(self, schema: Optional[Schema] = None):
        self.schema = schema or default_schema()
        self._docs: Dict[str, dict] = {}
        self._validators: Dict[str, Any] = {}
        self._patterns: Dict[str, Any] = {}
        self._cls = None

    @classmethod
    def of(cls, schema: Optional[Schema] = None) -> "Validator":
        """The validator of a schema, kept in the schema's memo table like its codecs."""
        schema = schema or default_schema()
        v = schema.codecs.get(_MEMO_KEY)
        if v is None:
            v = schema.codecs[_MEMO_KEY] = cls(schema)
        return v

    # ---- schemas
    def json_schema(self, magic: str) -> Optional[dict]:
        """The generated JSON Schema of an image kind (None: no such kind)."""
        doc = self._docs.get(magic)
        if doc is None:
            kind = self.schema.image_kind(magic)
            if kind is None:
                return None
            doc = self._docs[magic] = SchemaBuilder(self.schema).image(kind)
        return doc

    def jsonschema_validator(self, magic: str):
        v = self._validators.get(magic)
        if v is None:
            v = self._validators[magic] = self._validator_class()(self.json_schema(magic))
        return v

    def _validator_class(self):
        if self._cls is None:
            from jsonschema import Draft202012Validator, ValidationError as JsError, validators
            compiled = self._patterns

            def pattern(validator, pat, instance, schema):
                # ECMA-262 semantics of a final "$": the very end, not also before a last
                # "\n" as in Python's re (the default keyword would accept "0x10\n").
                if not validator.is_type(instance, "string"):
                    return
                rx = compiled.get(pat)
                if rx is None:
                    rx = compiled[pat] = re.compile(pat[:-1] + r"\Z" if pat.endswith("$") else pat)
                if not rx.search(instance):
                    yield JsError("%r does not match %r" % (instance, pat))
            self._cls = validators.extend(Draft202012Validator, {"pattern": pattern})
        return self._cls

    # ---- validation
    def errors(self, img, file: Optional[str] = None, limit: int = DEFAULT_LIMIT) -> List[EncodeError]:
        """Every finding of the JSON Schema and the checks, in document order, at most `limit`
        (a last one says when more were left out)."""
        found = checks.check_image(img, self.schema)
        kind = None
        if isinstance(img, dict):
            kind, _ = checks.image_kind(img, self.schema)
        out: List[Tuple[str, str]] = []
        if kind is not None:
            seen = set()
            for err in self.jsonschema_validator(kind.name).iter_errors(img):
                for item in self._explain(err, img, kind):
                    if item not in seen:
                        seen.add(item)
                        out.append(item)
                if len(out) > limit:
                    break
        out = _in_document_order(out + found)
        more = len(out) > limit
        result = [EncodeError(msg, file=file, path=path) for path, msg in out[:limit]]
        if more:
            result.append(EncodeError("... more errors left out (the first %d are shown)" % limit,
                                      file=file))
        return result

    def check(self, img, file: Optional[str] = None, limit: int = DEFAULT_LIMIT) -> List[EncodeError]:
        """What encode would say: [] when the encoder accepts `img`, else every error. The
        encoder runs first (fast); the full validator only explains a failure."""
        from ..image import ImageCodec
        try:
            ImageCodec(self.schema, file=file).encode(img)
            return []
        except CritError as first:
            found = self.errors(img, file, limit)
            return found or [EncodeError(first.msg, file=file, path=first.path)]

    def raise_for(self, img, first: CritError, file: Optional[str] = None,
                  limit: int = DEFAULT_LIMIT) -> None:
        """Raise ValidationError with every error, after the encoder raised `first`."""
        found = self.errors(img, file, limit) or [first]
        raise ValidationError(found)

    # ---- messages
    def _explain(self, err, img, kind) -> Iterator[Tuple[str, str]]:
        parts = list(err.absolute_path)
        path = format_path(parts)
        inst, what, sch = err.instance, err.validator, err.schema
        if what == "required":
            for name in err.validator_value:
                if isinstance(inst, dict) and name not in inst:
                    yield format_path(parts + [name]), "required field is missing"
            return
        if what == "additionalProperties":
            allowed = set(sch.get("properties", ()))
            for name in inst:
                if name not in allowed:
                    yield (format_path(parts + [name]),
                           "unknown key %r%s" % (name, _of(sch)))
            return
        if what == "not" and isinstance(err.validator_value, dict) \
                and "required" in err.validator_value:
            for name in err.validator_value["required"]:
                yield format_path(parts + [name]), sch.get("description", "not allowed here")
            return
        if what in ("anyOf", "oneOf") and err.context:
            yield from self._best_branch(err, img, kind)
            return
        if isinstance(sch, dict) and "description" in sch and what in ("maxItems", "minItems"):
            yield path, sch["description"]
            return
        msg = self._field_message(parts, inst, img, kind)
        yield path, msg or _generic(err)

    def _best_branch(self, err, img, kind) -> Iterator[Tuple[str, str]]:
        # The branch made for the instance's type says the most (an object for a message).
        ctx = [e for e in err.context if e.validator != "type"] or list(err.context)
        branch = min(e.schema_path[0] for e in ctx)
        for e in ctx:
            if e.schema_path[0] == branch:
                yield from self._explain(e, img, kind)

    def _field_message(self, parts: list, value, img, kind) -> Optional[str]:
        """The encoder's own message for a bad scalar value, so both say the same thing."""
        located = locate(self.schema, kind, img, parts)
        if located is None:
            return None
        msg_name, field, index = located
        codec = MessageCodec.get(self.schema, msg_name, LENIENT)
        try:
            codec.encode({field: [value] if index else value})
        except CritError as e:
            return e.msg
        return None


def locate(schema: Schema, kind, img, parts: list) -> Optional[Tuple[str, str, bool]]:
    """(message name, field name, is an item of a repeated field) for the JSON path of a
    scalar value, or None when it is not a message field (extra, the reserved key, ...)."""
    if len(parts) < 3 or parts[0] != "entries" or not isinstance(parts[1], int):
        return None
    i = parts[1]
    if kind.layout == "pagemap" and i == 0:
        msg = kind.params["head"]
    elif kind.layout == "ghost_file" and i > 0:
        msg = kind.params["chunk"]
    else:
        msg = kind.entry
    rest = parts[2:]
    if kind.layout == "ipc_msg" and rest[0] == "extra" and len(rest) > 2:
        msg, rest = kind.params["msg"], rest[2:]
    while rest:
        name = rest[0]
        if not isinstance(name, str) or not schema.has_message(msg):
            return None
        try:
            f = schema.message(msg).field(name)
        except KeyError:
            return None
        rest = rest[1:]
        if f.repeated and rest and isinstance(rest[0], int):
            if f.type != "message":
                return (msg, name, True) if len(rest) == 1 and not f.criu.ipadd else None
            rest = rest[1:]
        if f.type != "message":
            return (msg, name, False) if not rest else None
        msg = f.type_name
    return None


def _of(sch) -> str:
    desc = sch.get("description", "") if isinstance(sch, dict) else ""
    name = desc.split(" ")[0] if desc else ""
    return " (not a field of %s)" % name if name and name != RESERVED_KEY else ""


def _generic(err) -> str:
    """A readable message for a jsonschema error the encoder has no word for."""
    what, inst, val = err.validator, err.instance, err.validator_value
    if what == "type":
        types = [val] if isinstance(val, str) else list(val)
        names = {"object": "an object", "array": "an array", "string": "a string",
                 "integer": "an integer", "number": "a number", "boolean": "true or false",
                 "null": "null"}
        return "expected %s, got %s" % (" or ".join(names.get(t, t) for t in types), json_type(inst))
    if what in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return "%r is out of range" % (inst,)
    if what == "pattern":
        return "%r is not in a form this field accepts" % (inst,)
    if what == "not" and isinstance(val, dict) and "enum" in val:
        return "%r is not allowed here (it is one of %s)" % (
            inst, ", ".join(repr(v) for v in val["enum"]))
    if what in ("const", "enum"):
        return "%r is not allowed here (expected %s)" % (
            inst, repr(val) if what == "const" else " or ".join(repr(v) for v in val))
    if what in ("minItems", "maxItems"):
        return "expected %s %d items, got %d" % ("at least" if what == "minItems" else "at most",
                                                val, len(inst))
    return err.message.split("\n")[0]


def _in_document_order(items: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
    # Entries in order; within an entry the schema's findings (field order) before the checks'.
    def key(item):
        m = re.match(r"entries\[(\d+)\]", item[0])
        return int(m.group(1)) if m else -1
    return sorted(items, key=key)


def validate(img, schema: Optional[Schema] = None, file: Optional[str] = None,
             limit: int = DEFAULT_LIMIT) -> List[EncodeError]:
    """Every error of a crit JSON document (JSON Schema and checks); [] if it is valid."""
    return Validator.of(schema).errors(img, file, limit)
