"""`mem --search`: every match of a string or regex in tasks' memory, streamed in chunks.
Matches may straddle chunk, page and VMA boundaries, but never a hole in the checkpoint."""
from __future__ import annotations

import bisect
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Callable, Iterator, List, Optional

from .memmodel import Hole, Match, Vma
from .memory import Memory

CHUNK = 1 << 20
# Bytes kept from one chunk to the next: a regex match (with whatever it looks ahead at)
# must fit in this window to be found where it straddles a chunk boundary.
WINDOW = 64 << 10


class Scanner:
    """Finds a compiled bytes regex in one stream of contiguous bytes, fed in pieces.

    feed() takes the next bytes at the next address; a gap in the addresses (or end())
    ends the stream, and what is held is searched as final. Matches are handed to
    `emit(addr, match, before, after)` in address order, non-overlapping, as re.finditer
    would find them in the whole stream, provided each fits in `window` bytes.

    >>> import re
    >>> found = []
    >>> s = Scanner(re.compile(b"needle"), 2, lambda *m: found.append(m), chunk=4, window=8)
    >>> for i, part in enumerate([b"xxne", b"edle", b"yy"]):
    ...     s.feed(0x100 + 4 * i, part)
    >>> s.end()
    >>> found
    [(258, b'needle', b'xx', b'yy')]
    """

    def __init__(self, regex, context: int, emit: Callable, chunk: int = CHUNK,
                 window: int = WINDOW):
        self.regex, self.context, self.emit = regex, context, emit
        self.chunk, self.window = chunk, max(window, context)
        self._parts: List[bytes] = []
        self._pending = 0
        self._base = self._end = -1    # stream addresses held: [base, end)
        self._scan_from = 0            # no match may start before this address

    def feed(self, addr: int, data: bytes) -> None:
        if addr != self._end:
            self.end()
            self._base = self._end = self._scan_from = addr
        self._parts.append(data)
        self._pending += len(data)
        self._end += len(data)
        if self._pending >= self.chunk:
            self._scan(final=False)

    def end(self) -> None:
        """The stream stops here (a hole, another task, or the end of the search)."""
        if self._parts:
            self._scan(final=True)
        self._parts, self._pending = [], 0
        self._base = self._end = -1

    def _scan(self, final: bool) -> None:
        buf = b"".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        base, end, ctx = self._base, self._end, self.context
        limit = end - self.window  # matches starting later may still grow: wait for more
        held = None
        for m in self.regex.finditer(buf, self._scan_from - base):
            s, e = m.span()
            if e == s:
                continue  # an empty match says nothing
            if not final and (base + s >= limit or base + e + ctx > end):
                held = base + s
                break
            self.emit(base + s, buf[s:e], buf[max(0, s - ctx):s], buf[e:e + ctx])
            self._scan_from = base + e
        if final:
            return
        if held is None:
            held = max(limit, self._scan_from)
        self._scan_from = max(self._scan_from, min(held, limit))
        keep = max(base, min(held, self._scan_from) - ctx)
        self._parts = [buf[keep - base:]]
        self._pending = 0
        self._base = keep


def search(mem: Memory, pids: List[int], regex, context: int = 32,
           select: Optional[Callable[[int], List[Vma]]] = None,
           start: int = 0, end: int = 1 << 64, chunk: int = CHUNK,
           window: int = WINDOW) -> Iterator[Match]:
    """Every match of `regex` (compiled, bytes) in the tasks `pids`, in pid then address
    order. `select(pid)` narrows a task's VMAs (default: all); [start, end) the addresses.
    Streams: holds about chunk + window bytes at a time, whatever the memory size."""
    for pid in pids:
        vmas = select(pid) if select else mem.vmas(pid)
        if not vmas:
            continue
        found: List[Match] = []
        starts = [v.start for v in vmas]

        def emit(addr, data, before, after, pid=pid, vmas=vmas, starts=starts, found=found):
            v = vmas[bisect.bisect_right(starts, addr) - 1]
            found.append(Match(pid, addr, v, data, before, after))

        scanner = Scanner(regex, context, emit, chunk, window)
        lo, hi = max(start, vmas[0].start), min(end, vmas[-1].end)
        for item in mem.chunks(pid, lo, hi, chunk, vmas):
            if isinstance(item, Hole):
                scanner.end()
            else:
                scanner.feed(item[0], item[1])
            if found:
                yield from found
                found.clear()
        scanner.end()
        yield from found
