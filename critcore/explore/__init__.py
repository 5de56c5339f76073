"""Explore a checkpoint directory: `x` (process tree, files, memory, RSS, sockets) and `stats`.
Checkpoint reads images, the explorers build plain-data models, render prints text or JSON."""
from .checkpoint import Checkpoint, CheckpointError
from .explorers import EXPLORERS
from .model import as_plain
from .render import render_json, render_text
from .stats import explore_stats

__all__ = ["Checkpoint", "CheckpointError", "EXPLORERS", "as_plain", "explore_stats",
           "render_json", "render_text"]
