"""Scalar field encoders: one JSON value (plain or pretty form) -> checked wire bytes, plus the
integer ranges of each protobuf type, which the JSON Schema generator shares."""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, List

from ..errors import CritError, EncodeError
from ..schema import FieldDesc, Schema
from ..wire import encode_varint
from ..wire.wiretype import INT_RANGES
from . import forms
from .view import View

FIXED_FORMATS = {"fixed32": "<I", "sfixed32": "<i", "float": "<f",
          "fixed64": "<Q", "sfixed64": "<q", "double": "<d"}



def jtype(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


class _Encoder:
    """Turns one JSON value of a scalar field into wire bytes (without the tag)."""

    __slots__ = ("f", "to_int", "pack")

    def __init__(self, f: FieldDesc, to_int: Callable, pack: Callable):
        self.f, self.to_int, self.pack = f, to_int, pack

    def __call__(self, v):
        return self.pack(self.to_int(v))

    def many(self, vs: list) -> List[bytes]:
        conv, pack = self.to_int, self.pack
        out = []
        for i, v in enumerate(vs):
            try:
                out.append(pack(conv(v)))
            except CritError as e:
                raise e.at(prefix="[%d]" % i) from None
        return out


# float32's overflow bound: values from 2**128 - 2**103 up round to infinity.
FLOAT32_LIMIT = float(2 ** 128 - 2 ** 103)


def _same(v):
    return v


def scalar_encoder(schema: Schema, f: FieldDesc, enum, view: View):
    t = f.type
    if t == "message":
        return None
    if t == "string":
        def s(v):
            if type(v) is not str:
                raise EncodeError("expected a string, got %s" % jtype(v))
            raw = forms.check_text(v)
            return encode_varint(len(raw)) + raw
        return _Encoder(f, _same, s)
    if t == "bytes":
        unconv = view.bytes_encoder(f)

        def b(v):
            raw = unconv(v)
            return encode_varint(len(raw)) + raw
        return _Encoder(f, _same, b)
    if t == "bool":
        def to_bool(v):
            if v is True or v is False:
                return int(v)
            raise EncodeError("expected true or false, got %s" % jtype(v))
        return _Encoder(f, to_bool, encode_varint)
    lo, hi = INT_RANGES.get(t, (None, None))
    if t == "enum":
        by_name = enum.by_name

        def to_enum(v):
            if type(v) is str:
                n = by_name.get(v)
                if n is None:
                    raise EncodeError("%r is not a value of enum %s" % (v, enum.name))
                return n
            return _check_int(v, lo, hi, t)
        return _Encoder(f, to_enum, encode_varint)
    if t in ("float", "double"):
        st = struct.Struct(FIXED_FORMATS[t])
        limit = FLOAT32_LIMIT if t == "float" else None

        def to_float(v):
            if type(v) is bool or not isinstance(v, (int, float)):
                raise EncodeError("expected a number, got %s" % jtype(v))
            if limit is not None and not -limit < v < limit and v == v:
                raise EncodeError("%r is out of range for float" % (v,))
            return float(v) if type(v) is int else v
        return _Encoder(f, to_float, st.pack)
    parse_str = view.int_parser(schema, f, lo, hi)

    def to_int(v, _p=parse_str, _lo=lo, _hi=hi, _t=t):
        if type(v) is int and _lo <= v <= _hi:
            return v
        if type(v) is str:
            v = _p(v)
        return _check_int(v, _lo, _hi, _t)
    if t in FIXED_FORMATS:
        return _Encoder(f, to_int, struct.Struct(FIXED_FORMATS[t]).pack)
    if t in ("sint32", "sint64"):
        return _Encoder(f, to_int, lambda v: encode_varint((v << 1) ^ -1 if v < 0 else v << 1))
    return _Encoder(f, to_int, encode_varint)


def _check_int(v, lo, hi, t) -> int:
    if type(v) is not int:
        n = forms.as_int(v)
        if n is None:
            raise EncodeError("expected an integer, got %s" % jtype(v))
        v = n
    if not lo <= v <= hi:
        raise EncodeError("%d is out of range for %s" % (v, t))
    return v
