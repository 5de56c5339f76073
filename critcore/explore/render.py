"""Text rendering of the `x` models, byte for byte what crit prints for ps, fds, mems and rss.
render_text(what, model) returns the whole output, each line ending in a newline (print())."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Callable, Dict, List

from .model import PsRow, TaskFds, TaskMems, TaskRss


def _ps(rows: List[PsRow]) -> List[str]:
    lines = ["%7s%7s%7s   %s" % ("PID", "PGID", "SID", "COMM")]
    for r in rows:
        lines.append("%7d%7d%7d   %s%s" % (r.pid, r.pgid, r.sid, " " * (4 * r.depth), r.comm))
    return lines


def _fds(tasks: List[TaskFds]) -> List[str]:
    lines = []
    for t in tasks:
        lines.append("%d" % t.pid)
        lines.extend("\t%7d: %s" % (f.fd, f.file) for f in t.fds)
        lines.append("\t%7s: %s" % ("cwd", t.cwd))
        lines.append("\t%7s: %s" % ("root", t.root))
    return lines


def _mems(tasks: List[TaskMems]) -> List[str]:
    lines = []
    for t in tasks:
        lines.append("%d" % t.pid)
        lines.append("\t%-36s    %s" % ("exe", t.exe))
        for v in t.vmas:
            fn = " " + v.name if v.name else ""
            if v.pgoff:
                fn += " + %#x" % v.pgoff
            if v.shared:
                fn += " (s)"
            if not v.regular:
                fn += " *"
            lines.append("\t%-36s%s%s" % ("%08x-%08x" % (v.start, v.end), v.prot, fn))
    return lines


# crit continues every VMA's line with a newline, a tab and 23 spaces, so the next VMA
# (or the end of the run) lines up under the first.
_RSS_CONT = "\n\t%23s" % ""


def _rss(tasks: List[TaskRss]) -> List[str]:
    lines = []
    for t in tasks:
        lines.append("%d" % t.pid)
        for run in t.runs:
            parts = []
            for v in run.vmas:
                if v.repeat:
                    parts.append(" ~")
                else:
                    parts.append(" %08x / %-8d" % (v.start, v.nr_pages))
                    if v.file is not None:
                        parts.append(" " + v.file)
                parts.append(_RSS_CONT)
            lines.append("%-24s%s" % ("\t%x / %-8d" % (run.vaddr, run.nr_pages), "".join(parts)))
    return lines


RENDERERS: Dict[str, Callable[[list], List[str]]] = {
    "ps": _ps,
    "fds": _fds,
    "mems": _mems,
    "rss": _rss,
}


def render_text(what: str, model: list) -> str:
    lines = RENDERERS[what](model)
    return "".join(line + "\n" for line in lines)
