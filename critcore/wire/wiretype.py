"""Wire types and tags: which wire type each protobuf scalar travels as.
A tag is (field_number << 3) | wire_type, itself a varint."""
from __future__ import annotations

from .varint import encode_varint

VARINT, I64, LEN, I32 = 0, 1, 2, 5
WIRE_NAMES = {VARINT: "varint", I64: "fixed64", LEN: "length-delimited", I32: "fixed32",
              3: "start-group", 4: "end-group"}

WIRE_OF_TYPE = {
    "int32": VARINT, "int64": VARINT, "uint32": VARINT, "uint64": VARINT,
    "sint32": VARINT, "sint64": VARINT, "bool": VARINT, "enum": VARINT,
    "fixed64": I64, "sfixed64": I64, "double": I64,
    "fixed32": I32, "sfixed32": I32, "float": I32,
    "string": LEN, "bytes": LEN, "message": LEN,
}

# The value range of each integer type (enums are int32 on the wire).
INT_RANGES = {
    "int32": (-(1 << 31), (1 << 31) - 1), "sint32": (-(1 << 31), (1 << 31) - 1),
    "sfixed32": (-(1 << 31), (1 << 31) - 1), "enum": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1), "sint64": (-(1 << 63), (1 << 63) - 1),
    "sfixed64": (-(1 << 63), (1 << 63) - 1),
    "uint32": (0, (1 << 32) - 1), "fixed32": (0, (1 << 32) - 1),
    "uint64": (0, (1 << 64) - 1), "fixed64": (0, (1 << 64) - 1),
}


def make_tag(number: int, wire: int) -> bytes:
    """Example:

    >>> make_tag(1, VARINT), make_tag(16, LEN)
    (b'\\x08', b'\\x82\\x01')
    """
    return encode_varint((number << 3) | wire)
