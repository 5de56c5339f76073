"""Image layer: whole CRIU image files (magic head, entries, payload layouts) <-> crit's JSON.
Depends on wire, schema and message."""
from .image import ImageFile, head_bytes, read_head
from .layouts import LAYOUTS, human_readable
from .stream import Cursor, Writer

__all__ = ["ImageFile", "LAYOUTS", "Cursor", "Writer", "head_bytes", "read_head", "human_readable"]
