"""Protocol-buffer wire primitives: varints, zigzag, tags and wire types.
Pure functions over bytes; nothing here knows about schemas."""
from .varint import encode_varint, read_varint, zigzag_decode, zigzag_encode
from .wiretype import I32, I64, LEN, VARINT, WIRE_NAMES, make_tag

__all__ = ["encode_varint", "read_varint", "zigzag_decode", "zigzag_encode",
           "VARINT", "I64", "LEN", "I32", "WIRE_NAMES", "make_tag"]
