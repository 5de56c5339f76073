"""`stats`: what CRIU measured while dumping (stats-dump) and restoring (stats-restore).
explore_stats reads both images into a Stats model; CRIU's times are in microseconds."""
from __future__ import annotations

import os

from .checkpoint import Checkpoint, CheckpointError
from .model import DumpStats, RestoreStats, Stats

STATS_DUMP, STATS_RESTORE = "stats-dump", "stats-restore"

# model field <- dump_stats_entry / restore_stats_entry field (schema/stats.yaml)
DUMP_FIELDS = (
    ("freezing_time_us", "freezing_time"), ("frozen_time_us", "frozen_time"),
    ("memdump_time_us", "memdump_time"), ("memwrite_time_us", "memwrite_time"),
    ("irmap_resolve_us", "irmap_resolve"), ("pages_scanned", "pages_scanned"),
    ("pages_skipped_parent", "pages_skipped_parent"), ("pages_written", "pages_written"),
    ("pages_lazy", "pages_lazy"), ("page_pipes", "page_pipes"),
    ("page_pipe_bufs", "page_pipe_bufs"), ("shpages_scanned", "shpages_scanned"),
    ("shpages_skipped_parent", "shpages_skipped_parent"), ("shpages_written", "shpages_written"),
)
RESTORE_FIELDS = (
    ("forking_time_us", "forking_time"), ("restore_time_us", "restore_time"),
    ("pages_compared", "pages_compared"), ("pages_skipped_cow", "pages_skipped_cow"),
    ("pages_restored", "pages_restored"),
)


def explore_stats(cp: Checkpoint) -> Stats:
    """Both sides when present; CheckpointError naming stats-dump when neither file exists.

    A stats image holds one stats_entry whose `dump` or `restore` part is set, depending
    on which of the two files it is; either part is read from either file.
    """
    dump = restore = None
    for name in (STATS_DUMP, STATS_RESTORE):
        entry = cp.stats(name)
        if entry is None:
            continue
        if entry.get("dump") is not None and dump is None:
            d = entry["dump"]
            dump = DumpStats(**{ours: d.get(theirs) for ours, theirs in DUMP_FIELDS})
        if entry.get("restore") is not None and restore is None:
            r = entry["restore"]
            restore = RestoreStats(**{ours: r.get(theirs) for ours, theirs in RESTORE_FIELDS})
    if dump is None and restore is None:
        present = [n for n in (STATS_DUMP, STATS_RESTORE)
                   if os.path.exists(os.path.join(cp.path, n))]
        if present:
            raise CheckpointError("no dump or restore statistics in the image",
                                  file=os.path.join(cp.path, present[0]))
        raise CheckpointError("missing image (and no %s either)" % STATS_RESTORE,
                              file=os.path.join(cp.path, STATS_DUMP))
    return Stats(dump, restore)
