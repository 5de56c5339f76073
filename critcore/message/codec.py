"""Descriptor-driven protobuf message codec: bytes <-> crit's JSON form (wrapped by ProtoMessage).
Each (message, view) pair is compiled once into flat dispatch tables keyed by the whole tag,
so the hot loop is one dict lookup and one small branch per field."""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import CritError, DecodeError, EncodeError
from ..schema import FieldDesc, MessageDesc, Schema
from ..wire import I32, I64, LEN, VARINT, WIRE_NAMES, encode_varint, read_varint
from ..wire.varint import MASK64
from ..wire.wiretype import WIRE_OF_TYPE
from . import convert, reserved
from .scalars import FIXED_FORMATS as _FIXED
from .scalars import INT_RANGES as _INT_RANGES
from .scalars import jtype as _jtype
from .scalars import scalar_encoder
from .view import PLAIN, View

RESERVED_KEY = "__critcore__"
"""Reserved JSON key, present only when the wire holds what the schema cannot express:
{"unknown": [[field number, wire type, value], ...], "packed": [names], "unpacked": [names]}.
Unknown values are ints for varint/fixed wire types and base64 for length-delimited ones;
"packed"/"unpacked" name repeated fields whose wire form differs from their declaration."""
UNKNOWN_KEY = RESERVED_KEY  # older name

# Kinds of slot in the decode table: how the raw wire value is read.
K_VARINT, K_I64, K_I32, K_LEN_BYTES, K_LEN_STR, K_LEN_MSG, K_PACKED = range(7)

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MISSING = object()
_ONE_BYTE = tuple(bytes((i,)) for i in range(128))
# Varint types whose non-negative ints are written as they are (no zigzag, no names).
_FAST_VARINT = frozenset(("int32", "int64", "uint32", "uint64"))
_ZIGZAG = frozenset(("sint32", "sint64"))
_MAX_PLANS = 256  # distinct key sets remembered per message type


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _sint(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def _text(raw: bytes) -> str:
    # File names are not always UTF-8: keep the bytes (surrogateescape) instead of failing.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "surrogateescape")
    except AttributeError:  # a memoryview slice inside a recursive message (see _Nested)
        return str(raw, "utf-8", "surrogateescape")


b64 = convert.b64_encode


# Raw wire value -> plain JSON value, per scalar type (None: the raw int is the value).
VARINT_DECODERS: Dict[str, Optional[Callable[[int], Any]]] = {
    "uint32": None, "uint64": None, "int32": _int32, "int64": _int64,
    "sint32": _sint, "sint64": _sint, "bool": bool, "enum": None,
}


class MessageCodec:
    """Compiled reader and writer of one message under one view (plain or pretty)."""

    __slots__ = ("desc", "view", "table", "fields", "post", "schema", "_hex", "by_name",
                 "required", "plans")

    def __init__(self, schema: Schema, desc: MessageDesc, view: View, inherited_hex: bool):
        self.desc = desc
        self.view = view
        self.schema = schema
        self._hex = inherited_hex
        # Both tables are built on first use: a core image names dozens of nested messages
        # (every architecture's registers), and most runs meet only a few of them.
        self.table: Optional[Dict[int, tuple]] = None  # the decode table
        self.fields: Optional[List[tuple]] = None  # the encode table
        self.by_name: Dict[str, tuple] = {}
        self.required: frozenset = frozenset()
        self.plans: Optional[Dict[tuple, Any]] = None  # key tuple -> plan, or False
        self.post: List[Tuple[str, Callable]] = []

    @classmethod
    def get(cls, schema: Schema, name: str, view: View = PLAIN, inherited_hex: bool = False):
        key = (name, view.name, inherited_hex)
        codec = schema.codecs.get(key)
        if codec is None:
            codec = schema.codecs[key] = cls(schema, schema.message(name), view, inherited_hex)
        return codec

    # ---- compilation
    def _compile(self) -> Dict[int, tuple]:
        self.table, self.post = {}, []
        try:
            for f in self.desc.fields:
                self._compile_field(f)
        except BaseException:
            self.table = None  # never leave a half-built table behind
            raise
        return self.table

    def _compile_field(self, f: FieldDesc) -> None:
        schema, view = self.schema, self.view
        hexed = self._hex or f.criu.hex
        wire = WIRE_OF_TYPE[f.type]
        sub = None
        enum = schema.enum(f.type_name) if f.type == "enum" else None
        if f.type == "message":
            sub = _Nested.wrap(schema, MessageCodec.get(schema, f.type_name, view,
                                                        hexed and view.pretty))
            dec, kind = None, K_LEN_MSG
        elif f.type == "string":
            dec, kind = _text, K_LEN_STR
        elif f.type == "bytes":
            dec, kind = view.bytes_decoder(f), K_LEN_BYTES
        else:
            base = _scalar_decoder(f, enum)
            dec = view.int_decoder(schema, f, base, hexed) if view.pretty else base
            kind = {VARINT: K_VARINT, I64: K_I64, I32: K_I32}[wire]
        # rep: 0 single, 1 repeated, 2 repeated and declared packed (to notice unpacked input)
        rep = (2 if f.packed else 1) if f.repeated else 0
        self.table[(f.number << 3) | wire] = (f.name, kind, dec, sub, rep, _FIXED.get(f.type))
        if rep and wire != LEN:
            # Packed and unpacked are both legal on the wire whatever the declaration says.
            self.table[(f.number << 3) | LEN] = (f.name, K_PACKED, dec, kind, rep, _FIXED.get(f.type))
        if rep and view.pretty and f.criu.ipadd:
            self.post.append((f.name, view.ip_decoder()))

    # ---- decoding
    def decode(self, buf: bytes) -> dict:
        """Decode a whole message held in `buf` (offsets in errors are relative to it)."""
        table = self.table
        if table is None:
            table = self._compile()
        out: dict = {}
        pos = 0
        end = len(buf)
        last = 0
        ordered = True
        slot = None
        try:
            while pos < end:
                tag = buf[pos]
                pos += 1
                if tag >= 0x80:
                    tag, pos = read_varint(buf, pos - 1)
                slot = table.get(tag)
                if slot is None:
                    pos = self._unknown(buf, pos, tag, out)
                    continue
                if tag < last:  # tags grow with field numbers; anything else needs a sort
                    ordered = False
                last = tag
                name, kind, dec, sub, rep, fmt = slot
                if kind == K_VARINT:
                    v = buf[pos]
                    pos += 1
                    if v >= 0x80:
                        # Inlined varint. Most CRIU values are addresses of 6-8 bytes: the
                        # first four bytes and the rest gather apart, in ints of one machine
                        # digit (28 and at most 42 bits), joined by a single wide shift.
                        b = buf[pos]
                        pos += 1
                        v = (v & 0x7F) | ((b & 0x7F) << 7)
                        if b >= 0x80:
                            b = buf[pos]
                            pos += 1
                            v |= (b & 0x7F) << 14
                            if b >= 0x80:
                                b = buf[pos]
                                pos += 1
                                v |= (b & 0x7F) << 21
                                if b >= 0x80:
                                    hi = shift = 0
                                    while True:
                                        b = buf[pos]
                                        pos += 1
                                        hi |= (b & 0x7F) << shift
                                        if b < 0x80:
                                            break
                                        shift += 7
                                        if shift >= 42:
                                            raise DecodeError("varint longer than 10 bytes",
                                                              offset=pos - 10)
                                    v |= hi << 28
                                    if shift == 35:
                                        v &= MASK64
                    if dec is not None:
                        v = dec(v)
                elif kind >= K_LEN_BYTES:
                    n = buf[pos]
                    if n < 0x80:
                        pos += 1
                    else:
                        n, pos = read_varint(buf, pos)
                    stop = pos + n
                    if stop > end:
                        raise DecodeError("length %d overruns the message (%d bytes left)"
                                          % (n, end - pos), offset=pos)
                    if kind == K_LEN_MSG:
                        try:
                            v = sub.decode(buf[pos:stop])
                        except CritError as e:
                            idx = "[%d]" % len(out.get(name, ())) if rep else ""
                            raise e.at(base=pos, prefix=name + idx) from None
                    elif kind == K_PACKED:
                        if rep == 1:
                            _note(out, "packed", name)
                        lst = out.get(name)
                        if lst is None:
                            lst = out[name] = []
                        self._packed(buf, pos, stop, sub, dec, fmt, lst)
                        pos = stop
                        continue
                    else:
                        v = dec(buf[pos:stop])
                    pos = stop
                else:
                    size = 8 if kind == K_I64 else 4
                    if pos + size > end:
                        raise DecodeError("truncated %d-byte value" % size, offset=pos)
                    v = struct.unpack_from(fmt, buf, pos)[0]
                    pos += size
                    if dec is not None:
                        v = dec(v)
                if rep:
                    lst = out.get(name)
                    if lst is None:
                        out[name] = [v]
                    else:
                        lst.append(v)
                    if rep == 2 and kind != K_LEN_MSG:
                        _note(out, "unpacked", name)
                else:
                    out[name] = v
        except IndexError:
            raise DecodeError("truncated message", offset=end).at(prefix=slot[0] if slot else "") from None
        except CritError as e:
            if e.path or slot is None or e.offset is None:
                raise
            raise e.at(prefix=slot[0]) from None
        if not ordered:
            out = self._sorted(out)
        if RESERVED_KEY in out:
            out[RESERVED_KEY] = out.pop(RESERVED_KEY)  # always last, after the fields
        for name, fn in self.post:
            if name in out:
                out[name] = fn(out[name], name)
        return out

    def _packed(self, buf, pos, stop, kind, dec, fmt, lst) -> None:
        if kind == K_VARINT:
            while pos < stop:
                v = buf[pos]
                if v < 0x80:
                    pos += 1
                else:
                    v, pos = read_varint(buf, pos)
                    if pos > stop:
                        raise DecodeError("packed varint overruns its field", offset=pos)
                lst.append(v if dec is None else dec(v))
        else:
            size = struct.calcsize(fmt)
            if (stop - pos) % size:
                raise DecodeError("packed field of %d bytes is not a multiple of %d"
                                  % (stop - pos, size), offset=pos)
            vals = struct.unpack_from("<%d%s" % ((stop - pos) // size, fmt[1]), buf, pos)
            lst.extend(vals if dec is None else map(dec, vals))

    def _unknown(self, buf: bytes, pos: int, tag: int, out: dict) -> int:
        wire = tag & 7
        num = tag >> 3
        start = pos
        if num == 0:
            raise DecodeError("field number 0 is invalid", offset=pos)
        if wire == VARINT:
            v, pos = read_varint(buf, pos)
        elif wire == I64 or wire == I32:
            size = 8 if wire == I64 else 4
            if pos + size > len(buf):
                raise DecodeError("truncated %d-byte value" % size, offset=pos)
            v = (_U64 if wire == I64 else _U32).unpack_from(buf, pos)[0]
            pos += size
        elif wire == LEN:
            n, pos = read_varint(buf, pos)
            if pos + n > len(buf):
                raise DecodeError("length %d overruns the message" % n, offset=pos)
            v = b64(buf[pos:pos + n])
            pos += n
        else:
            raise DecodeError("unsupported wire type %d (%s) for field %d"
                              % (wire, WIRE_NAMES.get(wire, "invalid"), num), offset=start)
        known = any(f.number == num for f in self.desc.fields)
        if known:
            # A known field number with a wire type its type cannot have.
            f = next(f for f in self.desc.fields if f.number == num)
            raise DecodeError("wrong wire type %s for %s field" % (WIRE_NAMES[wire], f.type),
                              offset=start, path=f.name)
        out.setdefault(RESERVED_KEY, {}).setdefault("unknown", []).append([num, wire, v])
        self.schema.unknown_fields += 1  # here, off the hot loop: the CLI warns when it grew
        return pos

    def _sorted(self, out: dict) -> dict:
        order = {f.name: f.number for f in self.desc.fields}
        order[RESERVED_KEY] = 1 << 30
        return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))

    # ---- encoding
    def _compile_encoder(self) -> List[tuple]:
        """The encode table, one tuple per field; built on first encode, decode never needs it."""
        schema, view = self.schema, self.view
        fields = []
        for f in self.desc.fields:
            wire = WIRE_OF_TYPE[f.type]
            sub = None
            if f.type == "message":
                sub = _Nested.wrap(schema, MessageCodec.get(
                    schema, f.type_name, view, (self._hex or f.criu.hex) and view.pretty))
            enum = schema.enum(f.type_name) if f.type == "enum" else None
            enc = scalar_encoder(schema, f, enum, view)
            fast = _INT_RANGES[f.type][1] if f.type in _FAST_VARINT and not f.repeated else -1
            # sint fields zigzag in the loop too (CRIU's vma fd is a sint64 -1 in every VMA).
            zig = _INT_RANGES[f.type][1] if f.type in _ZIGZAG and not f.repeated else 0
            # A lenient view (encode --no-validate) lets required fields be missing.
            req = f.label == "required" and view.strict
            # Hot fields first: the loop unpacks only these; the rest waits in `detail`.
            fields.append((f.name, encode_varint((f.number << 3) | wire), fast, req, f.number,
                           (wire, enc, sub, f.repeated, f.packed, f, zig)))
        self.by_name = {e[0]: e for e in fields}
        self.required = frozenset(e[0] for e in fields if e[3])
        self.fields = fields
        self.plans = {}
        return fields

    def encode(self, d: dict, ignore: Tuple[str, ...] = ()) -> bytes:
        """Encode a JSON-form dict (plain or pretty values) into message bytes. The checks are
        those of the generated JSON Schema (critcore.validate); the first failure is raised."""
        out = bytearray()
        self.encode_into(out, d, ignore)
        return bytes(out)

    def encode_into(self, out: bytearray, d: dict, ignore: Tuple[str, ...] = ()) -> None:
        """encode(), appending to `out`: an image writer saves a copy per entry. On an error
        `out` holds a partial message; the caller discards it."""
        if type(d) is not dict and not isinstance(d, dict):
            raise EncodeError("expected an object, got %s" % _jtype(d))
        plans = self.plans
        if plans is None:
            self._compile_encoder()
            plans = self.plans
        # A dict's keys say which fields it has: tens of thousands of VMAs share a few key
        # tuples, each checked once into a plan, so the loop visits only the fields present.
        keys = tuple(d)
        plan = plans.get(keys)
        if plan is None:
            plan = self._plan(keys)
            # Remember at most _MAX_PLANS key sets, none longer than the field list: a
            # long-lived process must not keep every odd input's keys alive.
            if len(plans) < _MAX_PLANS and len(keys) <= len(self.fields):
                plans[keys] = plan
        if plan is False:
            self._encode_fields(out, d, ignore)
            return
        name = ""
        try:
            for (name, tag, fast, to_int, detail), v in zip(plan, d.values()):
                if type(v) is int and 0 <= v <= fast:
                    # Hot path: an in-range non-negative int of a varint field.
                    out += tag
                    out += _ONE_BYTE[v] if v < 0x80 else encode_varint(v)
                elif type(v) is str and to_int is not None:
                    # Pretty forms of the same fields: hex, flags, dict names, devices.
                    out += tag
                    out += encode_varint(to_int(v))
                else:
                    self._put(out, tag, fast, v, detail, None)
        except CritError as e:
            raise e.at(prefix=name) from None

    def _plan(self, keys: tuple):
        """The plan for dicts with these keys: (name, tag, fast, to_int, detail) per key, when the
        keys are fields in field-number order and include every required field. Otherwise
        False: _encode_fields then deals with reserved and unknown keys, order and errors."""
        plan, last = [], 0
        for k in keys:
            e = self.by_name.get(k) if type(k) is str else None
            if e is None or e[4] <= last:
                return False
            last = e[4]
            plan.append((k, e[1], e[2], e[5][1].to_int if e[2] >= 0 else None, e[5]))
        if not self.required.issubset(keys):
            return False
        return tuple(plan)

    def _encode_fields(self, out: bytearray, d: dict, ignore: Tuple[str, ...]) -> None:
        """encode_into() field by field in declaration order, for any dict."""
        fields = self.fields
        used = 0
        meta = d.get(RESERVED_KEY, _MISSING)
        pending = repack = None
        if meta is not _MISSING:
            used += 1
            try:
                pending, repack = self._reserved(meta)
            except CritError as e:
                raise e.at(prefix=RESERVED_KEY) from None
        for name, tag, fast, req, num, detail in fields:
            if pending and pending[0][0] < num:
                pending = reserved.put_unknown(out, pending, num)
            v = d.get(name, _MISSING)
            if v is _MISSING:
                if req:
                    raise EncodeError("required field is missing", path=name)
                continue
            used += 1
            if type(v) is int and 0 <= v <= fast:
                out += tag
                out += _ONE_BYTE[v] if v < 0x80 else encode_varint(v)
                continue
            try:
                self._put(out, tag, fast, v, detail, repack)
            except CritError as e:
                raise e.at(prefix=name) from None
        if pending:
            reserved.put_unknown(out, pending, 1 << 62)
        if used != len(d) and used + sum(1 for k in ignore if k in d) != len(d):
            known = {f[0] for f in fields}
            extra = [k for k in d if k not in known and k != RESERVED_KEY and k not in ignore]
            raise EncodeError("unknown key %r (not a field of %s)" % (extra[0], self.desc.name),
                              path=extra[0])

    @staticmethod
    def _put(out: bytearray, tag: bytes, fast: int, v, detail: tuple, repack) -> None:
        """Write one field's value that the loops' in-range-int fast path left over; errors
        carry the path below the field, not its name."""
        wire, enc, sub, rep, packed, f, zig = detail
        if zig and type(v) is int and -zig - 1 <= v <= zig:
            v = v + v if v >= 0 else -v - v - 1
            out += tag
            out += _ONE_BYTE[v] if v < 0x80 else encode_varint(v)
        elif type(v) is str and fast >= 0:
            out += tag
            out += encode_varint(enc.to_int(v))
        elif rep:
            if not isinstance(v, list):
                raise EncodeError("expected an array, got %s" % _jtype(v))
            if f.criu.ipadd and v and isinstance(v[0], str):
                v = convert.ip_parse(v)
            if sub is not None:
                into = sub.encode_into
                for i, item in enumerate(v):
                    out += tag
                    start = len(out)
                    try:
                        into(out, item)
                    except CritError as e:
                        raise e.at(prefix="[%d]" % i) from None
                    # The size goes in front once known: a short memmove of one
                    # message beats encoding it apart and copying it in.
                    n = len(out) - start
                    out[start:start] = _ONE_BYTE[n] if n < 0x80 else encode_varint(n)
            else:
                items = enc.many(v)
                if repack and f.name in repack:
                    packed = repack[f.name]
                if packed and items:
                    body = b"".join(items)
                    out += encode_varint((f.number << 3) | LEN)
                    out += encode_varint(len(body))
                    out += body
                else:
                    for item in items:
                        out += tag
                        out += item
        elif sub is not None:
            out += tag
            start = len(out)
            sub.encode_into(out, v)
            n = len(out) - start
            out[start:start] = _ONE_BYTE[n] if n < 0x80 else encode_varint(n)
        else:
            out += tag
            out += enc(v)

    def _reserved(self, meta) -> tuple:
        return reserved.check(self.desc, meta)


MAX_DEPTH = 100  # protobuf's default recursion limit


class _Nested:
    """Stands for the codec of a message type that can contain itself (aa_namespace,
    cgroup_dir_entry): at most MAX_DEPTH levels of it may be open at once, as in protobuf,
    and nested levels read memoryview slices of one buffer, so a deep image cannot multiply
    memory. Other message fields have a depth the schema bounds and keep their plain codec.

    >>> from critcore.schema import default_schema
    >>> s = default_schema()
    >>> type(_Nested.wrap(s, MessageCodec.get(s, "cgroup_dir_entry"))).__name__
    '_Nested'
    """

    __slots__ = ("codec", "open")

    def __init__(self, codec: "MessageCodec", open_levels):
        self.codec = codec
        self.open = open_levels  # shared by every field of this type; .n = levels now open

    @staticmethod
    def wrap(schema: Schema, codec: "MessageCodec"):
        name = codec.desc.name
        recursive = schema.codecs.get(("recursive", name))
        if recursive is None:
            recursive = schema.codecs[("recursive", name)] = _reaches_itself(schema, name)
        if not recursive:
            return codec
        levels = schema.codecs.get(("open levels", name))
        if levels is None:
            import threading

            class Levels(threading.local):
                n = 0  # per thread: concurrent decodes must not count each other's levels
            levels = schema.codecs[("open levels", name)] = Levels()
        return _Nested(codec, levels)

    def _enter(self, error) -> None:
        if self.open.n >= MAX_DEPTH:
            raise error("%s messages nested more than %d levels deep"
                        % (self.codec.desc.name, MAX_DEPTH))
        self.open.n += 1

    def decode(self, buf) -> dict:
        self._enter(DecodeError)
        try:
            return self.codec.decode(buf if type(buf) is memoryview else memoryview(buf))
        except CritError as e:
            if e.offset is None:
                e.offset = 0
            raise
        finally:
            self.open.n -= 1

    def encode(self, d, ignore: Tuple[str, ...] = ()) -> bytes:
        out = bytearray()
        self.encode_into(out, d, ignore)
        return bytes(out)

    def encode_into(self, out: bytearray, d, ignore: Tuple[str, ...] = ()) -> None:
        self._enter(EncodeError)
        try:
            self.codec.encode_into(out, d, ignore)
        finally:
            self.open.n -= 1


def _reaches_itself(schema: Schema, name: str) -> bool:
    seen, todo = set(), [name]
    while todo:
        for f in schema.message(todo.pop()).fields:
            if f.type == "message":
                if f.type_name == name:
                    return True
                if f.type_name not in seen:
                    seen.add(f.type_name)
                    todo.append(f.type_name)
    return False


def _note(out: dict, what: str, name: str) -> None:
    names = out.setdefault(RESERVED_KEY, {}).setdefault(what, [])
    if name not in names:
        names.append(name)


def _scalar_decoder(f: FieldDesc, enum) -> Optional[Callable]:
    if f.type == "enum":
        names = enum.by_number
        # Unknown enum values stay numbers so that nothing is lost.
        return lambda v: names.get(_int32(v), _int32(v))
    return VARINT_DECODERS.get(f.type)


__all__ = ["MessageCodec", "RESERVED_KEY", "UNKNOWN_KEY"]
