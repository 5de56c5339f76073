"""The Python API, mirroring pycriu.images: load/loads/dump/dumps/info, plus iter_entries.
Functions take an optional Schema so callers can use a drop-in schema instead of the bundled one."""
from __future__ import annotations

import os
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Iterator, Optional

from .errors import DecodeError
from .image import ImageCodec
from .schema import Schema


def _read(f: IO[bytes]) -> bytes:
    data = f.read()
    if isinstance(data, str):
        raise DecodeError("expected a binary file, got text", file=_name(f))
    return data


def _name(f) -> Optional[str]:
    name = getattr(f, "name", None)
    return os.path.basename(name) if isinstance(name, str) else None


def loads(data: bytes, pretty: bool = False, no_payload: bool = False,
          schema: Optional[Schema] = None, file: Optional[str] = None) -> dict:
    """Decode image bytes into crit's {"magic": ..., "entries": [...]} form.

    >>> img = loads(dumps({"magic": "PSTREE", "entries": [{"pid": 7, "ppid": 1, "pgid": 7, "sid": 7}]}))
    >>> img["magic"], img["entries"][0]["pid"]
    ('PSTREE', 7)
    """
    return ImageCodec(schema, pretty, no_payload, file).parse(data)


def load(f: IO[bytes], pretty: bool = False, no_payload: bool = False,
         schema: Optional[Schema] = None) -> dict:
    """Decode an image from a binary file object (read to its end; pipes are fine)."""
    return loads(_read(f), pretty, no_payload, schema, _name(f))


def iter_entries(f: IO[bytes], pretty: bool = False, no_payload: bool = False,
                 schema: Optional[Schema] = None) -> Iterator[dict]:
    """Yield an image's entries one by one; the magic is checked before the first one."""
    _, entries = ImageCodec(schema, pretty, no_payload, _name(f)).iter_parse(_read(f))
    return entries


def dumps(img: dict, schema: Optional[Schema] = None, validate: bool = True) -> bytes:
    """Encode crit's JSON form (plain or pretty values) into image bytes; `img` is not modified.
    Raises the first EncodeError; validate(img) lists them all. validate=False: see
    ImageCodec.encode (missing required fields and payload sizes let through)."""
    return ImageCodec(schema).encode(img, validate)


def dump(img: dict, f: IO[bytes], schema: Optional[Schema] = None, validate: bool = True) -> None:
    """Encode into a binary file object; nothing is written if encoding fails."""
    f.write(dumps(img, schema, validate))


def info(f: IO[bytes], schema: Optional[Schema] = None) -> dict:
    """{"magic": NAME, "count": N}, N being the number of entries load() returns."""
    magic, count = ImageCodec(schema, file=_name(f)).count(_read(f))
    return {"magic": magic, "count": count}
