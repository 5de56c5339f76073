"""A whole CRIU image as a construct.Construct: u32 magic head, then the layout's entries.
Loaded only on use, like construct_message, because importing construct is slow."""
from __future__ import annotations

from typing import Optional

import construct

from ..errors import DecodeError
from ..schema import Schema
from .image import ImageCodec

Magic = construct.Int32ul  # every magic, IMG_COMMON/IMG_SERVICE included, is one u32


class ImageFile(construct.Construct):
    """Parses to crit's {"magic": NAME, "entries": [...]}; builds the image bytes back.

    >>> img = ImageFile()
    >>> entry = {"pid": 1, "ppid": 0, "pgid": 1, "sid": 1}
    >>> data = img.build({"magic": "PSTREE", "entries": [entry]})
    >>> Magic.parse(data) == img.codec.schema.magics["IMG_COMMON"]
    True
    >>> img.parse(data)["entries"] == [entry]
    True
    """

    def __init__(self, schema: Optional[Schema] = None, pretty: bool = False,
                 no_payload: bool = False, file: Optional[str] = None):
        super().__init__()
        self.codec = ImageCodec(schema, pretty, no_payload, file)

    def _parse(self, stream, context, path):
        try:
            data = construct.stream_read_entire(stream, path)
        except construct.ConstructError as e:
            raise DecodeError(str(e), file=self.codec.file) from None
        return self.codec.parse(data)

    def _build(self, obj, stream, context, path):
        data = self.codec.encode(obj)
        construct.stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context, path):
        raise construct.SizeofError("an image has no fixed size", path=path)
