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
from .narrow import failing_parts

DEFAULT_LIMIT = 20
_MEMO_KEY = ("critcore.validate", "Validator")


class Inliner:
    """Replaces {"$ref": "#/$defs/X"} by X itself (one shared object per X), except where X
    refers back to itself: the same schema, but jsonschema skips its costly $ref lookups.

    >>> Inliner({"a": {"type": "integer"}})({"items": {"$ref": "#/$defs/a"}})
    {'items': {'type': 'integer'}}
    """

    def __init__(self, defs: dict):
        self.defs = defs
        self.done: Dict[str, Any] = {}
        self.active: List[str] = []

    def __call__(self, x):
        if isinstance(x, dict):
            ref = x.get("$ref")
            if ref is not None and len(x) == 1 and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/"):].replace("~1", "/").replace("~0", "~")
                if name in self.done:
                    return self.done[name]
                if name in self.active:  # a recursive message keeps its reference
                    return x
                self.active.append(name)
                self.done[name] = out = self(self.defs[name])
                self.active.pop()
                return out
            return {k: v if k == "$defs" else self(v) for k, v in x.items()}
        if isinstance(x, list):
            return [self(v) for v in x]
        return x


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

    def jsonschema_validator(self, magic: str, def_name: Optional[str] = None):
        """A jsonschema validator of an image kind's schema, or of one of its $defs."""
        key = (magic, def_name)
        v = self._validators.get(key)
        if v is None:
            doc = self.json_schema(magic)
            inline = Inliner(doc["$defs"])
            root = inline(doc if def_name is None else {"$ref": "#/$defs/" + def_name})
            root = dict(root, **{"$schema": doc["$schema"], "$defs": doc["$defs"]})
            v = self._validators[key] = self._validator_class()(root)
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
    def errors(self, img, file: Optional[str] = None, limit: int = DEFAULT_LIMIT,
               full: bool = False) -> List[EncodeError]:
        """Every finding of the JSON Schema and the checks, in document order, at most `limit`
        (a last one says when more were left out). Unless `full`, jsonschema runs only over
        the parts the encoder rejects (narrow.py): all of them, but quickly."""
        found = checks.check_image(img, self.schema)
        kind = None
        if isinstance(img, dict):
            kind, _ = checks.image_kind(img, self.schema)
        out: List[Tuple[str, str]] = []
        if kind is not None:
            if full:
                parts = iter([([], img, None)])
            else:
                parts = failing_parts(img, kind, self.schema, self.json_schema(kind.name))
            seen = set()
            for prefix, inst, def_name in parts:
                try:
                    for err in self.jsonschema_validator(kind.name, def_name).iter_errors(inst):
                        for item in self._explain(err, prefix, img, kind):
                            if item not in seen:
                                seen.add(item)
                                out.append(item)
                        if len(out) > 4 * limit:
                            break
                except RecursionError:
                    # Messages nested too deep for jsonschema's recursion; checks.too_deep
                    # reports them, and the rest of this part goes unchecked.
                    if not any(msg.endswith("levels deep") for _, msg in found):
                        found.append((format_path(prefix), "nested too deeply to be checked"))
                if len(out) > 4 * limit:  # enough to sort and keep the first `limit`
                    break
        out = _in_document_order(out + found, img)
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
    def _explain(self, err, prefix: list, img, kind) -> Iterator[Tuple[str, str]]:
        parts = prefix + list(err.absolute_path)
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
            yield from self._best_branch(err, prefix, img, kind)
            return
        if isinstance(sch, dict) and "description" in sch and "type" not in sch:
            # A conditional branch (if/then/else) names the rule it stands for.
            yield path, sch["description"]
            return
        msg = self._field_message(parts, inst, img, kind)
        yield path, msg or _generic(err)

    def _best_branch(self, err, prefix: list, img, kind) -> Iterator[Tuple[str, str]]:
        # The branch made for the instance's type says the most (an object for a message).
        ctx = [e for e in err.context if e.validator != "type"] or list(err.context)
        branch = min(e.schema_path[0] for e in ctx)
        for e in ctx:
            if e.schema_path[0] == branch:
                yield from self._explain(e, prefix, img, kind)

    def _field_message(self, parts: list, value, img, kind) -> Optional[str]:
        """The encoder's own message for a bad value, so both say the same thing: the value
        is encoded alone, as the only field of its message (leniently: no required fields)."""
        if RESERVED_KEY in parts:
            k = parts.index(RESERVED_KEY)
            msg = message_at(self.schema, kind, parts[:k])
            rest = parts[k + 1:]
            if msg is None or not rest or not isinstance(rest[0], str):
                return None
            item = value
            if len(rest) > 2 and rest[0] == "unknown":  # a part of an unknown field
                item = _get(img, parts[:k + 3])
            trial = {RESERVED_KEY: {rest[0]: [item] if len(rest) > 1 else value}}
        else:
            msg = message_at(self.schema, kind, parts[:-1])
            index = None
            if msg is None and len(parts) > 1 and isinstance(parts[-1], int):
                msg, index = message_at(self.schema, kind, parts[:-2]), parts[-1]
            name = parts[-1] if index is None else parts[-2]
            if msg is None or not isinstance(name, str):
                return None
            try:
                f = self.schema.message(msg).field(name)
            except KeyError:
                return None
            if f.type == "message" or (index is not None) != f.repeated:
                return None
            if index is None:
                trial = {name: value}
            elif f.criu.ipadd:  # keep the list's form: text ([str]) or words
                whole = _get(img, parts[:-1])
                text = isinstance(whole, list) and whole and isinstance(whole[0], str)
                trial = {name: [value] if text else [0, value]}
            else:
                trial = {name: [value]}
        try:
            MessageCodec.get(self.schema, msg, LENIENT).encode(trial)
        except CritError as e:
            return e.msg
        return None


def _get(img, parts: list):
    try:
        for p in parts:
            img = img[p]
        return img
    except (KeyError, IndexError, TypeError):
        return None


def message_at(schema: Schema, kind, parts: list) -> Optional[str]:
    """The name of the message whose object sits at a JSON path, or None (not a message)."""
    if len(parts) < 2 or parts[0] != "entries" or not isinstance(parts[1], int):
        return None
    i = parts[1]
    if kind.layout == "pagemap" and i == 0:
        msg = kind.params["head"]
    elif kind.layout == "ghost_file" and i > 0:
        msg = kind.params["chunk"]
    else:
        msg = kind.entry
    rest = parts[2:]
    if kind.layout == "ipc_msg" and rest[:1] == ["extra"]:
        if len(rest) < 2 or not isinstance(rest[1], int) or rest[1] % 2:
            return None
        msg, rest = kind.params["msg"], rest[2:]
    while rest:
        name = rest[0]
        if not isinstance(name, str):
            return None
        try:
            f = schema.message(msg).field(name)
        except KeyError:
            return None
        if f.type != "message":
            return None
        rest = rest[1:]
        if f.repeated:
            if not rest or not isinstance(rest[0], int):
                return None
            rest = rest[1:]
        msg = f.type_name
    return msg


def _of(sch) -> str:
    name = sch.get("title") if isinstance(sch, dict) else None
    return " (not a field of %s)" % name if name else ""


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
        if isinstance(err.schema, dict) and err.schema.get("contentEncoding") == "base64":
            return "invalid base64 data"
        return "%r is not in a form this field accepts" % (inst,)
    if what == "not" and isinstance(val, dict) and "enum" in val:
        return "%r is not allowed here (it is one of %s)" % (
            inst, ", ".join(repr(v) for v in val["enum"]))
    if what in ("const", "enum"):
        return "%r is not allowed here (expected %s)" % (
            inst, repr(val) if what == "const" else " or ".join(repr(v) for v in val))
    if what in ("minItems", "maxItems"):
        return "expected %s %d item%s, got %d" % ("at least" if what == "minItems" else "at most",
                                                 val, "" if val == 1 else "s", len(inst))
    return err.message.split("\n")[0]


def _in_document_order(items: List[Tuple[str, str]], img) -> List[Tuple[str, str]]:
    """Sort findings as the document reads: keys in their order in the object (missing ones
    after the present ones), items by index; a path comes before the paths inside it."""
    def key(item):
        node, out = img, []
        for part in _PATH_PART.findall(item[0]):
            if part.startswith("["):
                i = int(part[1:-1])
                out.append(i)
                node = node[i] if isinstance(node, list) and i < len(node) else None
            else:
                name = part.lstrip(".")
                keys = list(node) if isinstance(node, dict) else []
                out.append(keys.index(name) if name in keys else len(keys))
                node = node.get(name) if isinstance(node, dict) else None
        return out
    return sorted(items, key=key)


_PATH_PART = re.compile(r"\[\d+\]|\.?[^.\[]+")


def validate(img, schema: Optional[Schema] = None, file: Optional[str] = None,
             limit: int = DEFAULT_LIMIT) -> List[EncodeError]:
    """Every error of a crit JSON document (JSON Schema and checks); [] if it is valid."""
    return Validator.of(schema).errors(img, file, limit)
