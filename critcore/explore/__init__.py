"""`crit x` for critcore: explore a checkpoint directory (process tree, files, memory, RSS).
Checkpoint reads images, EXPLORERS build plain-data models, render_text prints crit's text."""
from .checkpoint import Checkpoint, CheckpointError
from .explorers import EXPLORERS
from .model import as_plain
from .render import render_text

__all__ = ["Checkpoint", "CheckpointError", "EXPLORERS", "as_plain", "render_text"]
