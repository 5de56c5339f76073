"""The protobuf message as a construct.Construct, for composing CRIU layouts with construct.
Kept out of the package import: construct itself costs more start-up time than crit's whole run."""
from __future__ import annotations

import construct

from ..schema import Schema
from .codec import MessageCodec
from .view import PLAIN, View


class ProtoMessage(construct.Construct):
    """A protobuf message as a construct: the whole stream (or Prefixed slice) is the message.

    >>> from critcore.schema import default_schema
    >>> m = ProtoMessage(default_schema(), "pstree_entry")
    >>> m.parse(b"\\x08\\x01\\x10\\x00\\x18\\x01\\x20\\x01")
    {'pid': 1, 'ppid': 0, 'pgid': 1, 'sid': 1}
    >>> m.build({"pid": 1, "ppid": 0, "pgid": 1, "sid": 1})
    b'\\x08\\x01\\x10\\x00\\x18\\x01 \\x01'
    """

    def __init__(self, schema: Schema, name: str, view: View = PLAIN):
        super().__init__()
        self.codec = MessageCodec.get(schema, name, view)

    def _parse(self, stream, context, path):
        data = construct.stream_read_entire(stream, path)
        return self.codec.decode(data)

    def _build(self, obj, stream, context, path):
        data = self.codec.encode(obj)
        construct.stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context, path):
        raise construct.SizeofError("a protobuf message has no fixed size", path=path)
