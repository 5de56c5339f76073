"""Message layer: one protobuf message <-> crit's JSON form, driven by schema descriptors.
Depends on wire and schema only."""
from .codec import RESERVED_KEY, UNKNOWN_KEY, MessageCodec
from .view import LENIENT, PLAIN, PRETTY, View

__all__ = ["MessageCodec", "ProtoMessage", "RESERVED_KEY", "UNKNOWN_KEY", "PLAIN", "PRETTY", "LENIENT", "View"]


def __getattr__(name):
    # construct is imported only by code that uses the construct classes (start-up cost).
    if name == "ProtoMessage":
        from .construct_message import ProtoMessage
        return ProtoMessage
    raise AttributeError(name)
