"""Base-128 varints and zigzag, the integer encodings of the protobuf wire format.
read_varint works on a bytes object and a position so callers can keep tight loops."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Tuple

from ..errors import DecodeError

MASK64 = (1 << 64) - 1


def read_varint(buf: bytes, pos: int) -> Tuple[int, int]:
    """Decode the varint at buf[pos]; returns (value, new position).

    >>> read_varint(b"\\xac\\x02", 0)
    (300, 2)
    """
    result = 0
    shift = 0
    start = pos
    n = len(buf)
    while True:
        if pos >= n:
            raise DecodeError("truncated varint", offset=start)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            # A 10th byte may only carry bit 63; more is not a 64-bit value.
            return result & MASK64, pos
        shift += 7
        if shift >= 70:
            raise DecodeError("varint longer than 10 bytes", offset=start)


def encode_varint(value: int) -> bytes:
    """Varint bytes of a non-negative value, or of a negative one as its 64-bit two's complement
    (10 bytes, as protobuf writes negative int32/int64).

    >>> encode_varint(300), len(encode_varint(-1))
    (b'\\xac\\x02', 10)
    """
    if value < 0:
        value &= MASK64
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def zigzag_decode(v: int) -> int:
    """Example:

    >>> zigzag_decode(3)
    -2
    """
    return (v >> 1) ^ -(v & 1)


def zigzag_encode(v: int) -> int:
    """Example:

    >>> zigzag_encode(-2)
    3
    """
    return (v << 1) ^ (v >> 63) if v < 0 else v << 1
