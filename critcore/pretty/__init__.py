"""Pretty layer: crit-identical JSON text for decoded images (separators, indent, newline).
Depends on nothing but the standard library; kept apart so output speed work stays in one place."""
from .jsonout import render

__all__ = ["render"]
