"""Message layer: one protobuf message <-> crit's JSON form, driven by schema descriptors.
Depends on wire and schema only."""
from .codec import UNKNOWN_KEY, MessageCodec, ProtoMessage
from .view import PLAIN, PRETTY, View

__all__ = ["MessageCodec", "ProtoMessage", "UNKNOWN_KEY", "PLAIN", "PRETTY", "View"]
