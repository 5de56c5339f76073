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

    >>> as_plain([PsNode(1, 1, 1, "init", "Alive", [PsNode(2, 1, 1, "sh", "Zombie")])])[0]["children"]
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
    a path, "pipe[N]", "unix[...]" or "TYPE.ID"."""
    __slots__ = ("fd", "type", "file")

    def __init__(self, fd: int, type: str, file: str):
        self.fd, self.type, self.file = fd, type, file


class TaskFds(Record):
    __slots__ = ("pid", "fds", "cwd", "root")

    def __init__(self, pid: int, fds: Optional[List[FdRow]] = None, cwd: str = "",
                 root: str = ""):
        self.pid, self.fds, self.cwd, self.root = pid, [] if fds is None else fds, cwd, root


class MemVma(Record):
    """prot is "rwx" with "-" for missing rights; name is a path, "[stack]", "shmem[N]"... or
    "" for anonymous memory. pgoff and shared are only set for file mappings; regular is
    VMA_AREA_REGULAR (crit marks the others with "*")."""
    __slots__ = ("start", "end", "prot", "name", "pgoff", "shared", "regular")

    def __init__(self, start: int, end: int, prot: str, name: str = "", pgoff: int = 0,
                 shared: bool = False, regular: bool = True):
        self.start, self.end, self.prot, self.name = start, end, prot, name
        self.pgoff, self.shared, self.regular = pgoff, shared, regular


class TaskMems(Record):
    __slots__ = ("pid", "exe", "vmas")

    def __init__(self, pid: int, exe: str, vmas: Optional[List[MemVma]] = None):
        self.pid, self.exe, self.vmas = pid, exe, [] if vmas is None else vmas


class RssVma(Record):
    """A VMA overlapping a run of dumped pages; `repeat` when the previous run already showed
    it. `file` is the mapped file's path, None for anonymous memory."""
    __slots__ = ("start", "nr_pages", "file", "repeat")

    def __init__(self, start: int, nr_pages: int, file: Optional[str] = None,
                 repeat: bool = False):
        self.start, self.nr_pages, self.file, self.repeat = start, nr_pages, file, repeat


class PageRun(Record):
    """One pagemap entry: nr_pages dumped pages from vaddr, and the VMAs they fall in."""
    __slots__ = ("vaddr", "nr_pages", "vmas")

    def __init__(self, vaddr: int, nr_pages: int, vmas: Optional[List[RssVma]] = None):
        self.vaddr, self.nr_pages, self.vmas = vaddr, nr_pages, [] if vmas is None else vmas


class TaskRss(Record):
    __slots__ = ("pid", "runs")

    def __init__(self, pid: int, runs: Optional[List[PageRun]] = None):
        self.pid, self.runs = pid, [] if runs is None else runs
