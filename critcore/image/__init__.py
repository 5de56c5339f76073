"""Image layer: whole CRIU image files (magic head, entries, payload layouts) <-> crit's JSON.
Depends on wire, schema and message."""
from .image import ImageCodec, head_bytes, read_head
from .layouts import LAYOUTS, human_readable
from .stream import Cursor, Writer

__all__ = ["ImageCodec", "ImageFile", "LAYOUTS", "Cursor", "Writer", "head_bytes", "read_head",
           "human_readable"]


def __getattr__(name):
    # construct is imported only by code that uses the construct classes (start-up cost).
    if name == "ImageFile":
        from .construct_image import ImageFile
        return ImageFile
    raise AttributeError(name)
