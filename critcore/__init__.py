"""critcore: read, write and explore CRIU checkpoint images from the .proto schema, without protoc.
The top level re-exports the pycriu.images-style API and the error hierarchy."""
from .api import dump, dumps, info, iter_entries, load, loads
from .errors import (CritError, DecodeError, EncodeError, SchemaError, UnknownMagicError,
                     ValidationError)
from .schema import default_schema  # schema=default_schema(proto_dir) for a newer CRIU's .proto

__version__ = "0.1.0"

# pycriu.images calls it MagicException; keep the name for ported scripts.
MagicException = UnknownMagicError

__all__ = ["load", "loads", "dump", "dumps", "info", "iter_entries", "CritError", "DecodeError",
           "EncodeError", "SchemaError", "UnknownMagicError", "ValidationError", "MagicException",
           "__version__", "default_schema"]
