"""Bounds-checked reading and writing of an image's byte stream: u32 size prefixes, messages
and raw payloads. Every read is checked against what is left, so a huge size is an error, not a read()."""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

from ..errors import CritError, DecodeError, EncodeError
from ..message import MessageCodec

U32 = _U32 = struct.Struct("<I")


class Cursor:
    """A position in an image held in memory; offsets in errors are file offsets.

    >>> c = Cursor(b"\\x02\\x00\\x00\\x00\\x08\\x01", "x.img")
    >>> c.u32(), c.take(2), c.at_end()
    (2, b'\\x08\\x01', True)
    """

    __slots__ = ("buf", "pos", "end", "file")

    def __init__(self, buf: bytes, file: Optional[str] = None, pos: int = 0):
        self.buf = buf
        self.pos = pos
        self.end = len(buf)
        self.file = file

    def at_end(self) -> bool:
        return self.pos >= self.end

    def left(self) -> int:
        return self.end - self.pos

    def error(self, msg: str, path: str = "", offset: Optional[int] = None) -> DecodeError:
        return DecodeError(msg, file=self.file, offset=self.pos if offset is None else offset, path=path)

    def u32(self, what: str = "entry size", path: str = "") -> int:
        if self.pos + 4 > self.end:
            raise self.error("truncated %s (%d of 4 bytes)" % (what, self.end - self.pos), path)
        v = _U32.unpack_from(self.buf, self.pos)[0]
        self.pos += 4
        return v

    def take(self, n: int, what: str = "payload", path: str = "") -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise self.error("%s of %d bytes overruns the file (%d bytes left)"
                             % (what, n, self.end - self.pos), path)
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def skip(self, n: int, what: str = "payload", path: str = "") -> None:
        if n < 0 or self.pos + n > self.end:
            raise self.error("%s of %d bytes overruns the file (%d bytes left)"
                             % (what, n, self.end - self.pos), path)
        self.pos += n

    def message(self, codec: MessageCodec, path: str) -> dict:
        """A u32 size followed by a message of that size."""
        size = self.u32("entry size", path)
        start = self.pos
        if size > self.end - start:
            raise self.error("entry size %d is larger than the rest of the file (%d bytes)"
                             % (size, self.end - start), path, offset=start - 4)
        self.pos = start + size
        try:
            return codec.decode(self.buf[start:start + size])
        except CritError as e:
            raise e.at(file=self.file, base=start, prefix=path) from None


class Writer:
    """Accumulates an image's bytes; nothing reaches a file until the whole image is built."""

    __slots__ = ("out",)

    def __init__(self):
        self.out = bytearray()

    def u32(self, v: int) -> None:
        self.out += _U32.pack(v)

    def message(self, codec: MessageCodec, entry: dict, path: str, ignore=("extra",)) -> None:
        try:
            body = codec.encode(entry, ignore)
        except CritError as e:
            raise e.at(prefix=path) from None
        if len(body) > 0xFFFFFFFF:
            raise EncodeError("entry of %d bytes does not fit a u32 size" % len(body), path=path)
        self.out += _U32.pack(len(body))
        self.out += body

    def raw(self, data: bytes) -> None:
        self.out += data

    def getvalue(self) -> bytes:
        return bytes(self.out)
