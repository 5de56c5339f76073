"""What the memory reader, `mem` and `inspect` find, as plain records (no output format here).
Bytes stay bytes in these models; the renderers (memrender.py) decide how to show them."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional, Tuple

from .model import Record


class Vma(Record):
    """One VMA of a task as the memory reader sees it. `index` is its position in mm-N.img
    (what `mem --vma N` takes); `kind` is stack, heap, anon, file, shared or special
    (vdso, vvar, vsyscall, packet rings); `shmem` names the pagemap-shmem image that holds
    a shared mapping's pages, and `cow_shmem` says the task's own pages come first (a
    MAP_PRIVATE memfd mapping: pages it never wrote are the memfd's).

    >>> v = Vma(3, 0x1000, 0x3000, "rw-", "anon")
    >>> v.size, v.shmem is None
    (8192, True)
    """
    __slots__ = ("index", "start", "end", "prot", "kind", "name", "pgoff", "shmem", "cow_shmem")

    def __init__(self, index: int, start: int, end: int, prot: str, kind: str, name: str = "",
                 pgoff: int = 0, shmem: Optional[str] = None, cow_shmem: bool = False):
        self.index, self.start, self.end, self.prot, self.kind = index, start, end, prot, kind
        self.name, self.pgoff, self.shmem, self.cow_shmem = name, pgoff, shmem, cow_shmem

    @property
    def size(self) -> int:
        return self.end - self.start


class Hole(Record):
    """Addresses [start, end) whose bytes the checkpoint does not hold, and why (one of
    the reasons in explore.memory: "not dumped", "in the mapped file", "lazy", ...).

    >>> Hole(0x1000, 0x3000, "lazy").as_dict()
    {'start': 4096, 'end': 12288, 'reason': 'lazy'}
    """
    __slots__ = ("start", "end", "reason")

    def __init__(self, start: int, end: int, reason: str):
        self.start, self.end, self.reason = start, end, reason


class MemoryRead(Record):
    """The bytes of [addr, addr + length) of one task: `pieces` are (address, bytes) in
    address order, `holes` what is missing. Nothing is filled in: data() raises
    MissingPagesError when there is a hole; zero_filled() is the explicit alternative.

    >>> r = MemoryRead(7, 0x1000, 8, [(0x1000, b"abcd")], [Hole(0x1004, 0x1008, "lazy")])
    >>> r.complete, r.zero_filled()
    (False, b'abcd\\x00\\x00\\x00\\x00')
    """
    __slots__ = ("pid", "addr", "length", "pieces", "holes")

    def __init__(self, pid: int, addr: int, length: int,
                 pieces: Optional[List[Tuple[int, bytes]]] = None,
                 holes: Optional[List[Hole]] = None):
        self.pid, self.addr, self.length = pid, addr, length
        self.pieces = [] if pieces is None else pieces
        self.holes = [] if holes is None else holes

    @property
    def complete(self) -> bool:
        return not self.holes

    def data(self) -> bytes:
        if self.holes:
            from .memory import MissingPagesError
            raise MissingPagesError(self.pid, self.holes[0])
        return b"".join(d for _, d in self.pieces)

    def zero_filled(self) -> bytes:
        out = bytearray(self.length)
        for a, d in self.pieces:
            out[a - self.addr:a - self.addr + len(d)] = d
        return bytes(out)


class VmaUsage(Record):
    """A row of `mem DIR PID`: a VMA, its size in pages, and how many of them the
    checkpoint holds (in this image or a parent's).

    >>> VmaUsage(Vma(0, 0, 0x2000, "r--", "file"), 2, 1).in_image
    1
    """
    __slots__ = ("vma", "pages", "in_image")

    def __init__(self, vma: Vma, pages: int, in_image: int):
        self.vma, self.pages, self.in_image = vma, pages, in_image


class TaskVmas(Record):
    """`mem DIR PID`: the (filtered) VMAs of one task.

    >>> TaskVmas(7, 4096).rows
    []
    """
    __slots__ = ("pid", "page_size", "rows")

    def __init__(self, pid: int, page_size: int, rows: Optional[List[VmaUsage]] = None):
        self.pid, self.page_size, self.rows = pid, page_size, [] if rows is None else rows


class Match(Record):
    """One search hit: its address in task `pid`, the VMA it starts in, the matched bytes
    and up to N bytes of context on each side (never across a hole).

    >>> Match(7, 0x1000, Vma(2, 0x1000, 0x2000, "rw-", "heap", "[heap]"), b"key").vma.name
    '[heap]'
    """
    __slots__ = ("pid", "addr", "vma", "match", "before", "after")

    def __init__(self, pid: int, addr: int, vma: Vma, match: bytes, before: bytes = b"",
                 after: bytes = b""):
        self.pid, self.addr, self.vma, self.match = pid, addr, vma, match
        self.before, self.after = before, after


class ContainerInfo(Record):
    """What the container engine recorded beside the images (config.dump, spec.dump), and
    the archive's sizes; None for what it does not say.

    >>> ContainerInfo(name="web", engine="Podman").runtime is None
    True
    """
    __slots__ = ("name", "id", "image", "image_ref", "runtime", "engine", "created",
                 "checkpointed", "namespace", "pod", "rootfs_diff_size")

    def __init__(self, **fields):
        for n in self.__slots__:
            setattr(self, n, fields.pop(n, None))
        if fields:
            raise TypeError("ContainerInfo has no field %s" % ", ".join(sorted(fields)))


class TaskMemorySize(Record):
    """A task's memory: VMA count, mapped bytes, and bytes held in the checkpoint.

    >>> TaskMemorySize(3, 8192, 4096).in_image_bytes
    4096
    """
    __slots__ = ("vmas", "mapped_bytes", "in_image_bytes")

    def __init__(self, vmas: int, mapped_bytes: int, in_image_bytes: int):
        self.vmas, self.mapped_bytes, self.in_image_bytes = vmas, mapped_bytes, in_image_bytes


class InspectTask(Record):
    """One task of `inspect`: its command line and environment as read from its memory
    (None when the pages are not in the checkpoint, with the reason in `memory_note`),
    open files, sockets, memory sizes, and its children.

    >>> InspectTask(7, "sh", "Alive").children
    []
    """
    __slots__ = ("pid", "comm", "state", "cmdline", "environ", "memory_note", "fds", "cwd",
                 "root", "sockets", "memory", "children")

    def __init__(self, pid: int, comm: str, state: Optional[str] = None, **fields):
        self.pid, self.comm, self.state = pid, comm, state
        for n in self.__slots__[3:]:
            setattr(self, n, fields.pop(n, None))
        if fields:
            raise TypeError("InspectTask has no field %s" % ", ".join(sorted(fields)))
        for n in ("fds", "sockets", "children"):
            if getattr(self, n) is None:
                setattr(self, n, [])


class Inspect(Record):
    """`inspect DIR`: the checkpoint's source, container metadata, sizes, process tree
    and dump statistics.

    >>> Inspect("ckpt.tar", "archive").tasks
    []
    """
    __slots__ = ("path", "kind", "container", "images_bytes", "pages_bytes", "stats",
                 "tasks")

    def __init__(self, path: str, kind: str, container: Optional[ContainerInfo] = None,
                 images_bytes: int = 0, pages_bytes: int = 0, stats=None,
                 tasks: Optional[List[InspectTask]] = None):
        self.path, self.kind, self.container = path, kind, container
        self.images_bytes, self.pages_bytes, self.stats = images_bytes, pages_bytes, stats
        self.tasks = [] if tasks is None else tasks
