"""Process memory from a checkpoint: the bytes at any virtual address, by CRIU's page rules.
Pagemaps give page runs; pages files, parent checkpoints and shmem images the bytes; holes stay."""
from __future__ import annotations

import bisect
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, Iterator, List, Optional, Tuple, Union

from .checkpoint import Checkpoint, CheckpointError
from .memmodel import Hole, MemoryRead, Vma

PAGE_SIZE = 4096
PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4  # pmap.flags (criu/include/pagemap.h)

# vma_entry.status bits (criu/include/image.h, schema/pretty.yaml mmap.status)
VMA_AREA_STACK, VMA_AREA_VSYSCALL, VMA_AREA_VDSO = 1 << 1, 1 << 2, 1 << 3
VMA_AREA_HEAP, VMA_FILE_PRIVATE, VMA_FILE_SHARED = 1 << 5, 1 << 6, 1 << 7
VMA_ANON_SHARED, VMA_AREA_SYSVIPC, VMA_AREA_SOCKET = 1 << 8, 1 << 10, 1 << 11
VMA_AREA_VVAR, VMA_AREA_MEMFD = 1 << 12, 1 << 14
MAP_SHARED, MAP_GROWSDOWN = 0x1, 0x100
KINDS = ("stack", "heap", "anon", "file", "shared", "special")

# Why bytes are missing (Hole.reason).
NOT_DUMPED = "not dumped"                  # anonymous memory CRIU skipped: never touched
IN_FILE = "in the mapped file"             # a file page the task never wrote
LAZY = "lazy"                              # PE_LAZY without PE_PRESENT: for lazy-pages
NO_PARENT = "no parent checkpoint"         # PE_PARENT, but no `parent` directory
NOT_IN_PARENT = "not in the parent checkpoint"
NO_SHMEM = "no shmem pagemap"              # shared memory without pagemap-shmem-N.img
UNMAPPED = "not mapped"                    # outside every VMA
_ABSENT = "absent"                         # internal: no pagemap entry covers it

# (start, end, raw file, offset) for data, (start, end, None, reason) for a hole.
Piece = tuple


class MissingPagesError(CheckpointError):
    """Bytes asked for are not in the checkpoint; `hole` says where and why.

    >>> str(MissingPagesError(7, Hole(0x1000, 0x3000, "lazy")))
    'pid 7: 0x1000-0x3000: 2 pages not in the checkpoint (lazy)'
    """

    def __init__(self, pid: int, hole: Hole, page_size: int = PAGE_SIZE,
                 file: Optional[str] = None):
        n = -(-(hole.end - hole.start) // page_size)
        super().__init__("%#x-%#x: %d page%s not in the checkpoint (%s)"
                         % (hole.start, hole.end, n, "" if n == 1 else "s", hole.reason),
                         file=file, path="pid %d" % pid)
        self.pid, self.hole = pid, hole


class PageMap:
    """One pagemap image (pagemap-PID.img or pagemap-shmem-ID.img) as sorted page runs.

    Each run is (start, end, flags, offset): CRIU's rules, applied in image order, are
    that nr_pages (compat_nr_pages before 4.2) counts the pages, that an entry without
    flags is PE_PRESENT and `in_parent` is PE_PARENT, and that the offset into
    pages-<pages_id>.img advances only over PE_PRESENT entries.

    >>> import os, critcore
    >>> cp = Checkpoint(os.path.join(os.path.dirname(critcore.__file__), os.pardir, "tests",
    ...                              "data", "zdtm-cmdlinenv00"))
    >>> pm = PageMap(cp, "pagemap-71.img", 4096)
    >>> pm.pages, ["%x" % a for a, _, _, _ in pm.runs[:2]], [r[3] for r in pm.runs[:3]]
    ('pages-2.img', ['561514cdc000', '561514ce2000'], [0, 4096, 12288])
    """

    def __init__(self, cp: Checkpoint, image: str, page_size: int):
        entries = cp.image(image, "PAGEMAP")
        where = cp.source.label(image)
        if not entries or "pages_id" not in entries[0]:
            raise CheckpointError("pagemap has no head entry with pages_id", file=where)
        self.pages = "pages-%d.img" % entries[0]["pages_id"]
        runs = []
        off = 0
        for i, e in enumerate(entries[1:], 1):
            nr = e["nr_pages"] if "nr_pages" in e else e.get("compat_nr_pages", 0)
            flags = e.get("flags")
            if e.get("in_parent"):
                flags = (flags or 0) | PE_PARENT
            elif flags is None:
                flags = PE_PRESENT
            start = e["vaddr"]
            runs.append((start, start + nr * page_size, flags, off, i))
            if flags & PE_PRESENT:
                off += nr * page_size
        runs.sort()  # CRIU writes them sorted; the offsets above follow the image's order
        for a, b in zip(runs, runs[1:]):
            if b[0] < a[1]:
                raise CheckpointError("pagemap entries overlap at %#x" % b[0], file=where,
                                      path="entries[%d]" % b[4])
        self.runs = [r[:4] for r in runs]
        self.starts = [r[0] for r in runs]
        self.pages_bytes = off

    def lookup(self, start: int, end: int) -> Iterator[Tuple[int, int, Optional[int], int]]:
        """(a, b, flags, offset of a) covering [start, end); flags None where no entry is."""
        runs = self.runs
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        pos = start
        while pos < end:
            if i < len(runs) and runs[i][1] <= pos:
                i += 1
                continue
            if i >= len(runs) or runs[i][0] >= end:
                yield pos, end, None, 0
                return
            a, b, flags, off = runs[i]
            if a > pos:
                yield pos, a, None, 0
                pos = a
            stop = min(b, end)
            yield pos, stop, flags, off + (pos - a)
            pos = stop
            i += 1


class Memory:
    """The page reader of one checkpoint: the bytes of any task's virtual addresses.

    >>> import os, critcore
    >>> cp = Checkpoint(os.path.join(os.path.dirname(critcore.__file__), os.pardir, "tests",
    ...                              "data", "zdtm-cmdlinenv00"))
    >>> mem, mm = cp.memory(), cp.mm(71)
    >>> mem.read_bytes(71, mm["mm_arg_start"], 13)
    b'./cmdlinenv00'
    >>> mem.read(71, mem.vmas(71)[0].start, 8).holes
    [Hole(start=94648543322112, end=94648543322120, reason='in the mapped file')]
    """

    def __init__(self, cp: Checkpoint, page_size: int = PAGE_SIZE):
        if page_size < 512 or page_size & (page_size - 1):
            raise CheckpointError("page size %d is not a power of two of at least 512"
                                  % page_size)
        self.cp, self.page_size = cp, page_size
        self._pagemaps: Dict[str, Optional[PageMap]] = {}
        self._raw: Dict[str, object] = {}
        self._vmas: Dict[int, List[Vma]] = {}
        self._parent: Union[None, bool, Memory] = False  # False: not looked for yet

    # -- images ---------------------------------------------------------------------------

    def pagemap(self, image: str) -> Optional[PageMap]:
        if image not in self._pagemaps:
            pm = None
            if self.cp.source.exists(image):
                pm = PageMap(self.cp, image, self.page_size)
            self._pagemaps[image] = pm
        return self._pagemaps[image]

    def _rawfile(self, name: str):
        raw = self._raw.get(name)
        if raw is None:
            raw = self.cp.source.open_raw(name)
            if raw is None:
                raise CheckpointError("missing image (the pagemap's pages)",
                                      file=self.cp.source.label(name))
            self._raw[name] = raw
        return raw

    def parent(self) -> Optional["Memory"]:
        """The parent checkpoint's reader (for PE_PARENT pages), None when there is none."""
        if self._parent is False:
            src = self.cp.source.parent()
            self._parent = None if src is None else Checkpoint(
                src, need_pstree=False, schema=self.cp.schema).memory(self.page_size)
        return self._parent

    def close(self) -> None:
        """Close the pages files (and the parents'); the reader reopens them if used again."""
        for raw in self._raw.values():
            raw.close()
        self._raw.clear()
        if self._parent:
            self._parent.close()

    # -- VMAs -----------------------------------------------------------------------------

    def vmas(self, pid: int) -> List[Vma]:
        """The task's VMAs in address order, with their kind, name and page source."""
        if pid not in self._vmas:
            self._vmas[pid] = _vmas(self.cp, pid)
        return self._vmas[pid]

    def vma_at(self, pid: int, addr: int) -> Optional[Vma]:
        vmas = self.vmas(pid)
        i = bisect.bisect_right([v.start for v in vmas], addr) - 1
        return vmas[i] if i >= 0 and vmas[i].start <= addr < vmas[i].end else None

    # -- reading --------------------------------------------------------------------------

    def resolve(self, image: str, start: int, end: int) -> List[Piece]:
        """Where the bytes of [start, end) of one pagemap's address space are, following
        PE_PARENT into the parent chain; a part no entry covers is a hole `_ABSENT`."""
        pm = self.pagemap(image)
        if pm is None:
            return [(start, end, None, _ABSENT)]
        out: List[Piece] = []
        for a, b, flags, off in pm.lookup(start, end):
            if flags is None:
                out.append((a, b, None, _ABSENT))
            elif flags & PE_PARENT:
                parent = self.parent()
                if parent is None:
                    out.append((a, b, None, NO_PARENT))
                    continue
                for p in parent.resolve(image, a, b):
                    out.append(p if p[2] is not None or p[3] != _ABSENT
                               else (p[0], p[1], None, NOT_IN_PARENT))
            elif flags & PE_PRESENT:
                out.append((a, b, self._rawfile(pm.pages), off))
            else:
                out.append((a, b, None, LAZY if flags & PE_LAZY else NOT_DUMPED))
        return out

    def vma_pieces(self, pid: int, vma: Vma, start: int, end: int) -> List[Piece]:
        """Pieces of [start, end) inside one VMA, each hole with its final reason."""
        if vma.shmem is not None and not vma.cow_shmem:
            return self._shmem(vma, start, end)
        out: List[Piece] = []
        for p in self.resolve("pagemap-%d.img" % pid, start, end):
            if p[2] is not None or p[3] != _ABSENT:
                out.append(p)
            elif vma.cow_shmem:  # a private memfd mapping: pages it never wrote are the memfd's
                out.extend(self._shmem(vma, p[0], p[1]))
            else:
                out.append((p[0], p[1], None, IN_FILE if vma.kind == "file" else NOT_DUMPED))
        return out

    def _shmem(self, vma: Vma, start: int, end: int) -> List[Piece]:
        # Shared memory is dumped once, as an object of its own: its pagemap's addresses
        # are offsets in that object, which the VMA maps from pgoff on.
        if not self.cp.source.exists(vma.shmem):
            return [(start, end, None, NO_SHMEM)]
        delta = vma.pgoff - vma.start
        out = []
        for a, b, raw, where in self.resolve(vma.shmem, start + delta, end + delta):
            if raw is None and where == _ABSENT:
                where = NOT_DUMPED
            out.append((a - delta, b - delta, raw, where))
        return out

    def pieces(self, pid: int, start: int, end: int,
               vmas: Optional[List[Vma]] = None) -> Iterator[Piece]:
        """Pieces covering [start, end) in address order; addresses outside `vmas` (default:
        all of the task's) are holes UNMAPPED."""
        pos = start
        for v in self.vmas(pid) if vmas is None else vmas:
            if v.end <= pos:
                continue
            if v.start >= end:
                break
            if v.start > pos:
                yield (pos, v.start, None, UNMAPPED)
                pos = v.start
            stop = min(v.end, end)
            for p in self.vma_pieces(pid, v, pos, stop):
                yield p
            pos = stop
        if pos < end:
            yield (pos, end, None, UNMAPPED)

    def chunks(self, pid: int, start: int, end: int, chunk: int = 1 << 20,
               vmas: Optional[List[Vma]] = None) -> Iterator[Union[Tuple[int, bytes], Hole]]:
        """(address, bytes) of at most `chunk` bytes, and Holes, covering [start, end) in
        address order: the streaming form of read()."""
        for a, b, raw, where in self.pieces(pid, start, end, vmas):
            if raw is None:
                yield Hole(a, b, where)
                continue
            while a < b:
                n = min(chunk, b - a)
                data = raw.pread(where, n)
                if len(data) != n:
                    raise CheckpointError("pages image ends before the pages its pagemap "
                                          "lists", file=raw.label, offset=where + len(data))
                yield a, data
                a += n
                where += n

    def read(self, pid: int, addr: int, length: int) -> MemoryRead:
        """The bytes of [addr, addr + length): pieces, and holes for what is missing."""
        if addr < 0 or length < 0 or addr + length > 1 << 64:
            raise CheckpointError("address range %#x+%d is outside the address space"
                                  % (addr, length))
        out = MemoryRead(pid, addr, length)
        for item in self.chunks(pid, addr, addr + length, chunk=1 << 30):
            if isinstance(item, Hole):
                if out.holes and out.holes[-1].end == item.start \
                        and out.holes[-1].reason == item.reason:
                    out.holes[-1].end = item.end
                else:
                    out.holes.append(item)
            else:
                out.pieces.append(item)
        return out

    def read_bytes(self, pid: int, addr: int, length: int) -> bytes:
        """All the bytes of [addr, addr + length), or MissingPagesError at the first hole."""
        r = self.read(pid, addr, length)
        if r.holes:
            raise MissingPagesError(pid, r.holes[0], self.page_size, self.cp.path)
        return r.data()

    def pages_in_image(self, pid: int, vma: Vma) -> int:
        """How many of the VMA's pages the checkpoint holds (here or in a parent)."""
        n = sum(b - a for a, b, raw, _ in self.vma_pieces(pid, vma, vma.start, vma.end)
                if raw is not None)
        return n // self.page_size


def _prot(prot: int) -> str:
    return "".join(c if prot & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))


def _vmas(cp: Checkpoint, pid: int) -> List[Vma]:
    from .explorers import FileNames
    names = FileNames(cp)
    memfds = None
    out = []
    for i, e in enumerate(cp.mm(pid).get("vmas", ())):
        st, flags = e.get("status", 0), e.get("flags", 0)
        v = Vma(i, e["start"], e["end"], _prot(e.get("prot", 0)), "anon",
                pgoff=e.get("pgoff", 0))
        shmid = e.get("shmid", 0)
        if st & VMA_AREA_SYSVIPC:
            v.kind, v.name, v.shmem = "shared", "sysv-shm[%d]" % shmid, shmid
        elif st & VMA_AREA_MEMFD:
            if memfds is None:
                memfds = _memfd_inodes(cp)
            inode = memfds.get(shmid)
            v.name = "memfd:%s" % inode["name"] if inode else "memfd[?]"
            v.shmem = inode.get("shmid") if inode else -1
            v.kind = "shared" if st & VMA_FILE_SHARED else "file"
            v.cow_shmem = not st & VMA_FILE_SHARED
        elif st & VMA_ANON_SHARED:
            v.kind, v.name, v.shmem = "shared", "shmem[%d]" % shmid, shmid
        elif st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED):
            v.kind, v.name = "file", names.reg(shmid)
        elif st & VMA_AREA_STACK or flags & MAP_GROWSDOWN:
            v.kind, v.name = "stack", "[stack]"
        elif st & VMA_AREA_HEAP:
            v.kind, v.name = "heap", "[heap]"
        elif st & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_AREA_VSYSCALL | VMA_AREA_SOCKET):
            v.kind = "special"
            v.name = ("[vdso]" if st & VMA_AREA_VDSO else "[vvar]" if st & VMA_AREA_VVAR
                      else "[vsyscall]" if st & VMA_AREA_VSYSCALL else "packet-ring")
        if v.shmem is not None:
            v.shmem = "pagemap-shmem-%d.img" % v.shmem
        out.append(v)
    out.sort(key=lambda v: v.start)
    return out


def _memfd_inodes(cp: Checkpoint) -> Dict[int, dict]:
    """file id of each memfd -> its memfd_inode_entry (name, size, shmid)."""
    inodes = {e.get("inode_id"): e
              for e in cp.image("memfd.img", "MEMFD_INODE", optional=True) or ()}
    out = {}
    for fid, f in cp.files().items():
        memfd = f.get("memfd")
        if memfd is not None and memfd.get("inode_id") in inodes:
            out[fid] = inodes[memfd["inode_id"]]
    return out
