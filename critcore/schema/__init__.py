"""Schema layer: the .proto parser, YAML descriptor files and the resolved, frozen Schema.
Depends only on critcore.errors and critcore.wire."""
from .descriptors import CriuOpts, EnumDesc, FieldDesc, MessageDesc
from .loader import ImageKind, Schema, default_schema

__all__ = ["CriuOpts", "EnumDesc", "FieldDesc", "MessageDesc", "ImageKind", "Schema",
           "default_schema"]
