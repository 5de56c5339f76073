"""Encoding of the reserved "__critcore__" key (see codec.RESERVED_KEY): checks it as strictly as
the generated JSON Schema does, and writes its unknown fields back in field-number order."""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Tuple

from ..errors import CritError, EncodeError
from ..schema import MessageDesc
from ..wire import I32, I64, LEN, VARINT, WIRE_NAMES, encode_varint
from ..wire.varint import MASK64
from . import convert, forms

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
MAX_FIELD_NUMBER = (1 << 29) - 1


def rules(desc: MessageDesc) -> Tuple[frozenset, Tuple[str, ...]]:
    """What the reserved key of `desc` may hold: the field numbers "unknown" must avoid (the
    known ones) and the names "packed"/"unpacked" may list (repeated scalar fields).

    >>> from critcore.schema import default_schema
    >>> known, names = rules(default_schema().message("mm_entry"))
    >>> 1 in known, names
    (True, ('mm_saved_auxv',))
    """
    known = frozenset(f.number for f in desc.fields)
    names = tuple(f.name for f in desc.fields
                  if f.repeated and f.type not in ("message", "string", "bytes"))
    return known, names


def check(desc: MessageDesc, meta) -> Tuple[Optional[list], Optional[Dict[str, bool]]]:
    """(unknown fields as (number, wire type, int or bytes), sorted by number; {name: packed})."""
    if not isinstance(meta, dict):
        raise EncodeError("expected an object, got %s" % convert.json_type(meta))
    for k in meta:
        if k not in ("unknown", "packed", "unpacked"):
            raise EncodeError("unknown key %r" % k, path=k)
    known, names = rules(desc)
    unknown = meta.get("unknown", [])
    if not isinstance(unknown, list):
        raise EncodeError("expected an array, got %s" % convert.json_type(unknown), path="unknown")
    checked = []
    for i, u in enumerate(unknown):
        where = "unknown[%d]" % i
        if not isinstance(u, list) or len(u) != 3:
            raise EncodeError("expected [field number, wire type, value]", path=where)
        num, wire, v = forms.as_int(u[0]), forms.as_int(u[1]), u[2]
        if num is None or not 1 <= num <= MAX_FIELD_NUMBER:
            raise EncodeError("a field number is an integer from 1 to %d" % MAX_FIELD_NUMBER,
                              path=where + "[0]")
        if num in known:
            raise EncodeError("field %d is a known field of %s, not an unknown one"
                              % (num, desc.name), path=where + "[0]")
        if wire not in (VARINT, I64, LEN, I32):
            raise EncodeError("a wire type is 0, 1, 2 or 5", path=where + "[1]")
        if wire == LEN:
            try:
                v = convert.b64_decode(v)
            except CritError as e:
                raise e.at(prefix=where + "[2]") from None
        else:
            limit = 0xFFFFFFFF if wire == I32 else MASK64
            v = forms.as_int(v)
            if v is None or not 0 <= v <= limit:
                raise EncodeError("a %s value is an integer from 0 to %d"
                                  % (WIRE_NAMES[wire], limit), path=where + "[2]")
        checked.append((num, wire, v))
    repack = {}
    for what in ("packed", "unpacked"):
        listed = meta.get(what, [])
        if not isinstance(listed, list):
            raise EncodeError("expected an array of field names", path=what)
        for i, n in enumerate(listed):
            if n not in names:
                raise EncodeError("%r is not a repeated scalar field of %s" % (n, desc.name),
                                  path="%s[%d]" % (what, i))
            repack[n] = what == "packed"
    return sorted(checked, key=lambda u: u[0]) or None, repack or None


def put_unknown(out: bytearray, pending: List[tuple], below: int) -> List[tuple]:
    """Append the checked unknown fields numbered below `below`; returns the rest."""
    while pending and pending[0][0] < below:
        num, wire, v = pending.pop(0)
        out += encode_varint((num << 3) | wire)
        if wire == VARINT:
            out += encode_varint(v)
        elif wire == I64:
            out += _U64.pack(v)
        elif wire == I32:
            out += _U32.pack(v)
        else:
            out += encode_varint(len(v))
            out += v
    return pending
