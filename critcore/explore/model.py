"""What each explorer finds (x ps/fds/mems/rss/sk, stats), as records of ints, strings and lists.
Renderers read these: crit's text, and --json, which is as_plain(model); no output format here."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional


class Record:
    """A plain data record: fields in __slots__ order, as_dict() for JSON, == and repr.

    Not a dataclass: importing dataclasses (and inspect) and generating the classes cost
    more start-up time than the whole explore run on a small checkpoint. Each record has
    its own plain __init__, as mems and rss build one per VMA or page run.

    >>> FdRow(3, "PIPE", "pipe[7]")
    FdRow(fd=3, type='PIPE', file='pipe[7]')
    >>> TaskFds(1).as_dict()
    {'pid': 1, 'fds': [], 'cwd': '', 'root': ''}
    """

    __slots__ = ()

    def as_dict(self) -> dict:
        return {n: _plain(getattr(self, n)) for n in self.__slots__}

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    __hash__ = None  # mutable, like a dataclass with eq

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (n, getattr(self, n)) for n in self.__slots__))


def _plain(value):
    if isinstance(value, Record):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def as_plain(model):
    """A model (a record or a list of records) as JSON-ready lists and dicts: what --json prints.

    >>> tree = [PsNode(1, 1, 1, "init", "Alive", [PsNode(2, 1, 1, "sh", "Zombie")])]
    >>> as_plain(tree)[0]["children"]
    [{'pid': 2, 'pgid': 1, 'sid': 1, 'comm': 'sh', 'state': 'Zombie', 'children': []}]
    """
    return _plain(model)


class PsNode(Record):
    """One task of the process tree and its children, in pstree order. `state` is the name
    of core's task_state (Alive, Dead, Stopped, Zombie), or None when the core has none.

    >>> PsNode(7, 7, 1, "loop", "Alive").children
    []
    """
    __slots__ = ("pid", "pgid", "sid", "comm", "state", "children")

    def __init__(self, pid: int, pgid: int, sid: int, comm: str, state: Optional[str] = None,
                 children: Optional[List["PsNode"]] = None):
        self.pid, self.pgid, self.sid, self.comm, self.state = pid, pgid, sid, comm, state
        self.children = [] if children is None else children


class FdRow(Record):
    """`type` is fdinfo's file type (REG, PIPE, INETSK...); `file` is crit's description:
    a path, "pipe[N]", "unix[...]" or "TYPE.ID".

    >>> FdRow(4, "INETSK", "INETSK.6").as_dict()
    {'fd': 4, 'type': 'INETSK', 'file': 'INETSK.6'}
    """
    __slots__ = ("fd", "type", "file")

    def __init__(self, fd: int, type: str, file: str):
        self.fd, self.type, self.file = fd, type, file


class TaskFds(Record):
    """The open files of one task, then its working and root directories.

    >>> TaskFds(7, [FdRow(0, "TTY", "TTY.3")], "/", "/").fds[0].fd
    0
    """
    __slots__ = ("pid", "fds", "cwd", "root")

    def __init__(self, pid: int, fds: Optional[List[FdRow]] = None, cwd: str = "",
                 root: str = ""):
        self.pid, self.fds, self.cwd, self.root = pid, [] if fds is None else fds, cwd, root


class MemVma(Record):
    """prot is "rwx" with "-" for missing rights; name is a path, "[stack]", "shmem[N]"... or
    "" for anonymous memory. pgoff and shared are only set for file mappings; regular is
    VMA_AREA_REGULAR (crit marks the others with "*").

    >>> MemVma(0x1000, 0x3000, "r-x", "/bin/sh").regular
    True
    """
    __slots__ = ("start", "end", "prot", "name", "pgoff", "shared", "regular")

    def __init__(self, start: int, end: int, prot: str, name: str = "", pgoff: int = 0,
                 shared: bool = False, regular: bool = True):
        self.start, self.end, self.prot, self.name = start, end, prot, name
        self.pgoff, self.shared, self.regular = pgoff, shared, regular


class TaskMems(Record):
    """The executable and the memory map of one task.

    >>> TaskMems(7, "/bin/sh").vmas
    []
    """
    __slots__ = ("pid", "exe", "vmas")

    def __init__(self, pid: int, exe: str, vmas: Optional[List[MemVma]] = None):
        self.pid, self.exe, self.vmas = pid, exe, [] if vmas is None else vmas


class RssVma(Record):
    """A VMA overlapping a run of dumped pages; `repeat` when the previous run already showed
    it. `file` is the mapped file's path, None for anonymous memory.

    >>> RssVma(0x1000, 2).file is None
    True
    """
    __slots__ = ("start", "nr_pages", "file", "repeat")

    def __init__(self, start: int, nr_pages: int, file: Optional[str] = None,
                 repeat: bool = False):
        self.start, self.nr_pages, self.file, self.repeat = start, nr_pages, file, repeat


class PageRun(Record):
    """One pagemap entry: nr_pages dumped pages from vaddr, and the VMAs they fall in.

    >>> PageRun(0x1000, 3).as_dict()
    {'vaddr': 4096, 'nr_pages': 3, 'vmas': []}
    """
    __slots__ = ("vaddr", "nr_pages", "vmas")

    def __init__(self, vaddr: int, nr_pages: int, vmas: Optional[List[RssVma]] = None):
        self.vaddr, self.nr_pages, self.vmas = vaddr, nr_pages, [] if vmas is None else vmas


class TaskRss(Record):
    """The dumped page runs of one task.

    >>> TaskRss(7).runs
    []
    """
    __slots__ = ("pid", "runs")

    def __init__(self, pid: int, runs: Optional[List[PageRun]] = None):
        self.pid, self.runs = pid, [] if runs is None else runs


class SkOwner(Record):
    """A descriptor that holds a socket: task `pid`, descriptor number `fd`.

    >>> SkOwner(71, 3)
    SkOwner(pid=71, fd=3)
    """
    __slots__ = ("pid", "fd")

    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd


class SkRow(Record):
    """One socket of the checkpoint. Names (family, type, proto, state) come from CRIU's
    tables, or are the decimal number when the table has none; a field that the socket's
    family does not have is None. See docs/explore.md for each field.

    >>> row = SkRow(9, 48599, "INET", "STREAM", "TCP", "LISTEN", src_addr="0.0.0.0", src_port=8880)
    >>> row.src_port, row.dst_port, row.owners
    (8880, None, [])
    """
    __slots__ = ("id", "ino", "family", "type", "proto", "state",
                 "src_addr", "src_port", "dst_addr", "dst_port",  # INET, INET6
                 "name", "peer", "deleted",                       # UNIX
                 "portid", "dst_portid", "dst_group",             # NETLINK
                 "ifindex",                                       # PACKET
                 "backlog", "recv_q", "send_q", "owners")

    def __init__(self, id: int, ino: Optional[int], family: str, type: Optional[str] = None,
                 proto: Optional[str] = None, state: Optional[str] = None, **fields):
        self.id, self.ino, self.family, self.type = id, ino, family, type
        self.proto, self.state = proto, state
        for n in self.__slots__[6:]:
            setattr(self, n, fields.pop(n, None))
        if fields:
            raise TypeError("SkRow has no field %s" % ", ".join(sorted(fields)))
        if self.owners is None:
            self.owners = []


class DumpStats(Record):
    """stats-dump: times in microseconds, page counts in pages; None when the image lacks
    the field (the optional ones came with later CRIU versions).

    >>> DumpStats(frozen_time_us=7392, pages_written=28).pages_lazy is None
    True
    """
    __slots__ = ("freezing_time_us", "frozen_time_us", "memdump_time_us", "memwrite_time_us",
                 "irmap_resolve_us", "pages_scanned", "pages_skipped_parent", "pages_written",
                 "pages_lazy", "page_pipes", "page_pipe_bufs", "shpages_scanned",
                 "shpages_skipped_parent", "shpages_written")

    def __init__(self, **fields: Optional[int]):
        for n in self.__slots__:
            setattr(self, n, fields.pop(n, None))
        if fields:
            raise TypeError("DumpStats has no field %s" % ", ".join(sorted(fields)))


class RestoreStats(Record):
    """stats-restore: times in microseconds, page counts in pages, None when absent.

    >>> RestoreStats(restore_time_us=5000).forking_time_us is None
    True
    """
    __slots__ = ("forking_time_us", "restore_time_us", "pages_compared", "pages_skipped_cow",
                 "pages_restored")

    def __init__(self, **fields: Optional[int]):
        for n in self.__slots__:
            setattr(self, n, fields.pop(n, None))
        if fields:
            raise TypeError("RestoreStats has no field %s" % ", ".join(sorted(fields)))


class Stats(Record):
    """What `stats` shows: either side may be missing; downtime_us is the frozen time plus
    the restore time, None unless both are known.

    >>> Stats(DumpStats(frozen_time_us=100), RestoreStats(restore_time_us=50)).downtime_us
    150
    """
    __slots__ = ("dump", "restore", "downtime_us")

    def __init__(self, dump: Optional[DumpStats] = None, restore: Optional[RestoreStats] = None):
        self.dump, self.restore = dump, restore
        frozen = dump.frozen_time_us if dump else None
        restored = restore.restore_time_us if restore else None
        self.downtime_us = None if frozen is None or restored is None else frozen + restored
