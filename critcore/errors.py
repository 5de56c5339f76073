"""The one exception hierarchy of critcore: every failure carries file, offset and field path.
The CLI prints str(error) as its single stderr line, so the message format lives here."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


class CritError(Exception):
    """Base of every error critcore raises on bad input.

    >>> str(CritError("truncated varint", file="mm-1.img", offset=0x1c, path="entries[0].vmas[3].start"))
    'mm-1.img: offset 0x1c: entries[0].vmas[3].start: truncated varint'
    """

    def __init__(self, msg: str, file: Optional[str] = None, offset: Optional[int] = None,
                 path: str = ""):
        super().__init__(msg)
        self.msg = msg
        self.file = file
        self.offset = offset
        self.path = path

    def at(self, file: Optional[str] = None, base: int = 0, prefix: str = "") -> "CritError":
        """Fill in context known only to an outer layer; returns self for `raise e.at(...)`."""
        if file is not None and self.file is None:
            self.file = file
        if self.offset is not None:
            self.offset += base
        if prefix:
            self.path = join_path(prefix, self.path)
        return self

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.offset is not None:
            parts.append("offset %#x" % self.offset)
        if self.path:
            parts.append(self.path)
        parts.append(self.msg)
        return ": ".join(parts)


def join_path(prefix: str, path: str) -> str:
    if not path:
        return prefix
    if not prefix:
        return path
    return prefix + path if path.startswith("[") else prefix + "." + path


class DecodeError(CritError):
    """Binary input that does not follow the wire format or the schema."""


class EncodeError(CritError):
    """A JSON document that cannot be turned into an image."""


class ValidationError(EncodeError):
    """Every error found in a JSON document, not just the first (encode and validate print
    them one per line). Its own msg/path/file are those of the first error.

    >>> str(ValidationError([EncodeError("bad", path="a"), EncodeError("worse", path="b")]))
    'a: bad\\nb: worse'
    """

    def __init__(self, errors):
        errors = list(errors)
        first = errors[0]
        super().__init__(first.msg, file=first.file, offset=first.offset, path=first.path)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class UnknownMagicError(DecodeError):
    """The image's magic is not one the schema knows (raw image, or not an image at all)."""

    def __init__(self, magic: int, msg: str, **kw):
        super().__init__(msg, **kw)
        self.magic = magic


class SchemaError(CritError):
    """A .proto, magic.h or YAML descriptor that cannot be parsed or resolved.
    `offset` is unused; line and column are part of `file`."""


class ProtoSyntaxError(SchemaError):
    def __init__(self, msg: str, file: str, line: int, col: int):
        super().__init__(msg, file="%s:%d:%d" % (file, line, col))
        self.line = line
        self.col = col
