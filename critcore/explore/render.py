"""Text and JSON rendering of the explorer models: byte for byte crit's text for ps/fds/mems/rss.
render_text(what, model) returns the whole output, each line ending in a newline (print())."""
from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Callable, Dict, List, Optional

from .model import PsNode, SkRow, Stats, TaskFds, TaskMems, TaskRss, as_plain


def _ps(roots: List[PsNode]) -> List[str]:
    lines = ["%7s%7s%7s   %s" % ("PID", "PGID", "SID", "COMM")]
    stack = [(n, 0) for n in reversed(roots)]  # no recursion: the tree may be deep
    while stack:
        n, depth = stack.pop()
        lines.append("%7d%7d%7d   %s%s" % (n.pid, n.pgid, n.sid, " " * (4 * depth), n.comm))
        stack.extend((k, depth + 1) for k in reversed(n.children))
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


SK_COLUMNS = ("FAMILY", "TYPE", "PROTO", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "PEER",
              "INODE", "PID/FD")
_SK_RIGHT = frozenset(("RECV-Q", "SEND-Q", "INODE"))


def _opt(v) -> str:
    return "-" if v is None else str(v)


def _star(v) -> str:
    return str(v) if v else "*"


def _inet_addr(addr: Optional[str], port: Optional[int]) -> str:
    if addr is None:
        addr = "*"
    elif ":" in addr:
        addr = "[%s]" % addr  # IPv6, as ss writes it
    return "%s:%s" % (addr, _star(port))


def _sk_ends(r: SkRow):
    """LOCAL and PEER: address:port for INET, name and peer inode for UNIX, port ids for
    NETLINK, the interface index for PACKET ("*" for none)."""
    if r.src_addr is not None or r.src_port is not None:
        return _inet_addr(r.src_addr, r.src_port), _inet_addr(r.dst_addr, r.dst_port)
    if r.name is not None:
        # a bound socket whose file was unlinked: CRIU recreates it as a ghost on restore
        return (r.name + " (deleted)" if r.deleted else r.name) or "*", _star(r.peer)
    if r.portid is not None or r.dst_portid is not None:
        return _star(r.portid), _star(r.dst_portid)
    return ("ifindex=%d" % r.ifindex if r.ifindex else "*"), "*"


def _sk(rows: List[SkRow]) -> List[str]:
    table = [SK_COLUMNS]
    for r in rows:
        local, peer = _sk_ends(r)
        owners = ",".join("%d/%d" % (o.pid, o.fd) for o in r.owners) or "-"
        table.append((r.family, _opt(r.type), _opt(r.proto), _opt(r.state), _opt(r.recv_q),
                      _opt(r.send_q), local, peer, _opt(r.ino), owners))
    widths = [max(len(row[i]) for row in table) for i in range(len(SK_COLUMNS))]
    lines = []
    for row in table:
        cells = [c.rjust(w) if name in _SK_RIGHT else c.ljust(w)
                 for c, w, name in zip(row, widths, SK_COLUMNS)]
        lines.append("  ".join(cells).rstrip())
    return lines


def human_time(us: int) -> str:
    """A duration in microseconds, in the largest unit that keeps it at least 1.

    >>> human_time(302), human_time(7392), human_time(120362000)
    ('302 us', '7.39 ms', '120.36 s')
    """
    if us < 1000:
        return "%d us" % us
    if us < 1000000:
        return "%.2f ms" % (us / 1e3)
    return "%.2f s" % (us / 1e6)


def human_pages(n: int) -> str:
    """A page count, with its size in 4 KiB pages when there are any.

    >>> human_pages(0), human_pages(28), human_pages(4829)
    ('0', '28 (112 KiB)', '4829 (18.9 MiB)')
    """
    if not n:
        return "%d" % n
    size = n * 4.0
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            break
        size /= 1024
    return "%d (%s %s)" % (n, ("%d" if size == int(size) else "%.1f") % size, unit)


# (label, model field, formatter); a field the image lacks (None) is left out.
_DUMP_LINES = (
    ("freezing time", "freezing_time_us", human_time),
    ("frozen time", "frozen_time_us", human_time),
    ("memory dump time", "memdump_time_us", human_time),
    ("memory write time", "memwrite_time_us", human_time),
    ("irmap resolve time", "irmap_resolve_us", human_time),
    ("pages scanned", "pages_scanned", human_pages),
    ("pages skipped (in parent)", "pages_skipped_parent", human_pages),
    ("pages written", "pages_written", human_pages),
    ("pages lazy", "pages_lazy", human_pages),
    ("page pipes", "page_pipes", str),
    ("page pipe buffers", "page_pipe_bufs", str),
    ("shmem pages scanned", "shpages_scanned", human_pages),
    ("shmem pages skipped (in parent)", "shpages_skipped_parent", human_pages),
    ("shmem pages written", "shpages_written", human_pages),
)
_RESTORE_LINES = (
    ("forking time", "forking_time_us", human_time),
    ("restore time", "restore_time_us", human_time),
    ("pages compared", "pages_compared", human_pages),
    ("pages skipped (COW)", "pages_skipped_cow", human_pages),
    ("pages restored", "pages_restored", human_pages),
)
_STATS_WIDTH = 36


def _stats(st: Stats) -> List[str]:
    lines = []
    for title, part, spec in (("dump (stats-dump)", st.dump, _DUMP_LINES),
                              ("restore (stats-restore)", st.restore, _RESTORE_LINES)):
        if part is None:
            lines.append("%s: none" % title)
            continue
        lines.append("%s:" % title)
        for label, field, fmt in spec:
            value = getattr(part, field)
            if value is not None:
                lines.append("  %-*s%s" % (_STATS_WIDTH - 2, label, fmt(value)))
    if st.downtime_us is None:
        down = "unknown (needs the frozen time and the restore time)"
    else:
        down = "%s (frozen time + restore time)" % human_time(st.downtime_us)
    lines.append("%-*s%s" % (_STATS_WIDTH, "process downtime", down))
    return lines


RENDERERS: Dict[str, Callable[[list], List[str]]] = {
    "ps": _ps,
    "fds": _fds,
    "mems": _mems,
    "rss": _rss,
    "sk": _sk,
    "stats": _stats,
}


def render_text(what: str, model) -> str:
    lines = RENDERERS[what](model)
    return "".join(line + "\n" for line in lines)


def render_json(model) -> str:
    """--json: the model as plain JSON (docs/json-output.schema.json) on one line.

    One line because json's C encoder only runs without indent: indenting costs 3x the
    time on a large memory map. `| jq .` or `| python -m json.tool` pretty-prints it.

    >>> render_json([PsNode(1, 1, 1, "init", "Alive")])
    '[{"pid": 1, "pgid": 1, "sid": 1, "comm": "init", "state": "Alive", "children": []}]\\n'
    """
    return json.dumps(as_plain(model)) + "\n"
