"""Whole image files: the magic head (IMG_COMMON/IMG_SERVICE + magic, or inventory's single
magic) followed by the entries of the image's layout. ImageFile wraps this as a construct."""
from __future__ import annotations

import struct
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Optional, Tuple

from ..errors import CritError, DecodeError, EncodeError, UnknownMagicError
from ..message import LENIENT, PLAIN, PRETTY
from ..schema import ImageKind, Schema, default_schema
from .layouts import LAYOUTS, Ctx
from .stream import Cursor, Writer

_U32 = struct.Struct("<I")


def read_head(cur: Cursor, schema: Schema) -> ImageKind:
    """Read the magic(s) and return the image kind; leaves `cur` at the first entry."""
    if cur.at_end():
        raise DecodeError("empty file: not a CRIU image", file=cur.file, offset=0, path="magic")
    first = cur.u32("magic", "magic")
    magic = first
    if first in (schema.magics.get("IMG_COMMON"), schema.magics.get("IMG_SERVICE")):
        magic = cur.u32("magic", "magic")
    name = schema.magic_name(magic)
    hint = schema.raw_hint(cur.file or "")
    if name is None or name in ("IMG_COMMON", "IMG_SERVICE"):
        what = "probably %s" % hint if hint else "maybe raw data such as pages-*.img"
        raise UnknownMagicError(magic, "unknown magic %#x: not a CRIU protobuf image (%s)"
                                % (magic, what), file=cur.file, offset=cur.pos - 4, path="magic")
    kind = schema.image_kind(name)
    if kind is None:
        what = hint or "a raw image"
        raise UnknownMagicError(magic, "%s images carry no protobuf entries (this is %s)"
                                % (name, what), file=cur.file, offset=cur.pos - 4, path="magic")
    return kind


def head_bytes(kind: ImageKind, schema: Schema) -> bytes:
    if kind.head == "none":
        return _U32.pack(kind.magic)
    first = schema.magics["IMG_SERVICE" if kind.head == "service" else "IMG_COMMON"]
    return _U32.pack(first) + _U32.pack(kind.magic)


class _SizeOnly:
    """Stands in for a codec when only the size prefix matters (info's error path)."""

    @staticmethod
    def decode(buf: bytes) -> dict:
        return {}


class ImageCodec:
    """Decode and encode whole images of one schema and view.

    >>> codec = ImageCodec()
    >>> entry = {"pid": 1, "ppid": 0, "pgid": 1, "sid": 1}
    >>> data = codec.encode({"magic": "PSTREE", "entries": [entry]})
    >>> data.hex()
    '1943565430302750080000000801100018012001'
    >>> codec.parse(data)
    {'magic': 'PSTREE', 'entries': [{'pid': 1, 'ppid': 0, 'pgid': 1, 'sid': 1}]}
    """

    def __init__(self, schema: Optional[Schema] = None, pretty: bool = False,
                 no_payload: bool = False, file: Optional[str] = None):
        self.schema = schema or default_schema()
        self.view = PRETTY if pretty else PLAIN
        self.no_payload = no_payload
        self.file = file

    def iter_parse(self, data: bytes) -> Tuple[ImageKind, Iterator[dict]]:
        cur = Cursor(data, self.file)
        kind = read_head(cur, self.schema)
        layout = LAYOUTS.get(kind.layout)
        if layout is None:
            raise DecodeError("unknown layout %r for %s in images.yaml" % (kind.layout, kind.name),
                              file=self.file)
        return kind, layout.read(cur, Ctx(kind, self.schema, self.view, self.no_payload))

    def parse(self, data: bytes) -> dict:
        kind, entries = self.iter_parse(data)
        return {"magic": kind.name, "entries": list(entries)}

    def encode(self, img: dict, validate: bool = True) -> bytes:
        """Image bytes of crit's JSON form; raises the first EncodeError (critcore.validate
        lists them all). validate=False lets required fields be missing and payloads
        disagree with their sizes (encode --no-validate); the rest is always checked."""
        if not isinstance(img, dict):
            raise EncodeError("an image is an object with \"magic\" and \"entries\"", file=self.file)
        name = img.get("magic")
        if not isinstance(name, str):
            raise EncodeError("missing or non-string \"magic\"", path="magic", file=self.file)
        kind = self.schema.image_kind(name)
        if kind is None:
            raise EncodeError("%r is not a magic with protobuf entries" % name, path="magic",
                              file=self.file)
        entries = img.get("entries")
        if not isinstance(entries, list):
            raise EncodeError("\"entries\" must be an array", path="entries", file=self.file)
        extra = [k for k in img if k not in ("magic", "entries")]
        if extra:
            raise EncodeError("unknown key %r" % extra[0], path=extra[0], file=self.file)
        w = Writer()
        w.raw(head_bytes(kind, self.schema))
        try:
            LAYOUTS[kind.layout].write(entries, w, Ctx(kind, self.schema,
                                                       PLAIN if validate else LENIENT, False))
        except CritError as e:
            raise e.at(file=self.file) from None
        return w.getvalue()

    def count(self, data: bytes) -> Tuple[str, int]:
        """(magic name, number of entries decode would return), without decoding when possible."""
        cur = Cursor(data, self.file)
        kind = read_head(cur, self.schema)
        layout = LAYOUTS[kind.layout]
        if not layout.countable:
            _, entries = self.iter_parse(data)
            return kind.name, sum(1 for _ in entries)
        n = 0
        pos, end = cur.pos, cur.end
        unpack = _U32.unpack_from
        # The tightest loop that still checks every size: hop over the entries and look at
        # the landing point only afterwards; a bad size overshoots, or leaves < 4 bytes.
        try:
            while pos < end:
                pos += 4 + unpack(data, pos)[0]
                n += 1
        except struct.error:
            pass
        if pos != end:
            cur.pos = self._last_entry(data, cur.pos, n)
            cur.message(_SizeOnly(), "entries[%d]" % (n - (pos > end)))  # raises the precise error
        return kind.name, max(n - layout.head_entries, 0)

    @staticmethod
    def _last_entry(data: bytes, pos: int, n: int) -> int:
        """Offset of entry n-1 (the one that overshot) or n (the truncated size)."""
        for _ in range(n - 1 if n else 0):
            pos += 4 + _U32.unpack_from(data, pos)[0]
        if pos + 4 <= len(data) and pos + 4 + _U32.unpack_from(data, pos)[0] <= len(data):
            pos += 4 + _U32.unpack_from(data, pos)[0]
        return pos
