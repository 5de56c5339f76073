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


_SMALL = tuple(bytes((i,)) for i in range(128))
# Continuation bits (0x80) on every byte but the last, for each varint length.
_CONT = (0,) + tuple(sum(0x80 << (8 * i) for i in range(n - 1)) for n in range(1, 11))


def encode_varint(value: int) -> bytes:
    """Varint bytes of a non-negative value, or of a negative one as its 64-bit two's complement
    (10 bytes, as protobuf writes negative int32/int64).

    >>> encode_varint(300), len(encode_varint(-1))
    (b'\\xac\\x02', 10)
    """
    if value < 0x80:
        if value >= 0:
            return _SMALL[value]
        value &= MASK64
    if value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    if value < 1 << 56:
        # Spread the 7-bit groups into bytes with three mask-and-shift steps (28, 14, 7 bits)
        # instead of a Python loop per group: addresses are 6-8 byte varints.
        x = (value & 0xFFFFFFF) | ((value & 0xFFFFFFF0000000) << 4)
        x = (x & 0x00003FFF00003FFF) | ((x & 0x0FFFC0000FFFC000) << 2)
        x = (x & 0x007F007F007F007F) | ((x & 0x3F803F803F803F80) << 1)
        n = (value.bit_length() + 6) // 7
        return (x | _CONT[n]).to_bytes(n, "little")
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
