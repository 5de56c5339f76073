"""The `mem` and `inspect` commands: VMA tables, hexdumps, raw bytes and searches of process
memory, and a checkpointctl-style summary. cli.py registers them through add_parsers()."""
from __future__ import annotations

import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, List, Optional, Tuple

from .errors import CritError

KINDS = ("stack", "heap", "anon", "file", "shared", "special")  # explore.memory.KINDS


def parse_addr(text: str) -> int:
    """An address: hexadecimal, with or without 0x, as /proc/PID/maps and the tables print.

    >>> parse_addr("7f2f435cf000"), parse_addr("0x10"), parse_addr("10")
    (139840970354688, 16, 16)
    """
    t = text.strip().lower()
    try:
        value = int(t[2:] if t.startswith("0x") else t, 16)
    except ValueError:
        raise CritError("bad address %r (hexadecimal, 0x optional)" % text) from None
    if value < 0 or value >= 1 << 64:
        raise CritError("address %r is outside the 64-bit address space" % text)
    return value


def parse_size(text: str) -> int:
    """A byte count: decimal or 0x-hex, with an optional k, m or g (KiB, MiB, GiB).

    >>> parse_size("256"), parse_size("0x100"), parse_size("4k"), parse_size("1M")
    (256, 256, 4096, 1048576)
    """
    t = text.strip().lower()
    scale = 1
    if t[-1:] in ("k", "m", "g"):
        scale = 1 << (10 * ("kmg".index(t[-1]) + 1))
        t = t[:-1]
    try:
        value = int(t, 0) * scale
    except ValueError:
        raise CritError("bad size %r (decimal or 0x hex, optional k/m/g)" % text) from None
    if value < 0:
        raise CritError("bad size %r: negative" % text)
    return value


def parse_range(text: str) -> Tuple[int, int]:
    """--range A-B: hexadecimal addresses, A below B.

    >>> [hex(a) for a in parse_range("0x1000-2000")]
    ['0x1000', '0x2000']
    """
    a, sep, b = text.partition("-")
    if not sep:
        raise CritError("bad range %r (START-END, hexadecimal)" % text)
    start, end = parse_addr(a), parse_addr(b)
    if end <= start:
        raise CritError("bad range %r: the end is not above the start" % text)
    return start, end


def prot_filter(text: str) -> Callable[[str], bool]:
    """--prot: "rw" needs r and w (x either way); a three-letter form with "-" ("r-x")
    must match exactly.

    >>> f, g = prot_filter("rw"), prot_filter("r-x")
    >>> f("rw-"), f("rwx"), f("r--"), g("r-x"), g("rwx")
    (True, True, False, True, False)
    """
    t = text.strip().lower()
    if not t or any(c not in "rwx-" for c in t):
        raise CritError("bad --prot %r (letters r, w, x; e.g. rw or r-x)" % text)
    if "-" in t:
        if len(t) != 3 or any(c not in (want, "-") for c, want in zip(t, "rwx")):
            raise CritError("bad --prot %r (the exact form is three letters: r-x, rw-...)"
                            % text)
        return lambda prot: prot == t
    return lambda prot: all(c in prot for c in t)


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # a terminal that cannot show the tree's line drawing
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))


def _checkpoint(args):
    from .cli import _schema
    from .explore import Checkpoint
    if args.page_size < 512 or args.page_size & (args.page_size - 1):
        raise CritError("--page-size %d is not a power of two of at least 512" % args.page_size)
    return Checkpoint(args.dir, schema=_schema(args))


def _pids(cp, pid: Optional[int]) -> List[int]:
    """The tasks to look at: `pid` (checked), else every task that has memory."""
    live = cp.live_pids()
    if pid is None:
        return live
    if pid not in live:
        known = {cp.task_id(p, "pid") for p in cp.pstree()}
        if pid in known:
            raise CritError("pid %d is dead or a zombie: CRIU dumped no memory for it" % pid,
                            file=cp.path)
        raise CritError("pid %d is not a task of this checkpoint (tasks: %s)"
                        % (pid, " ".join(str(p) for p in sorted(known))), file=cp.path)
    return [pid]


def _selector(args, mem):
    """pid -> the task's VMAs that pass --prot, --kind and --range."""
    keep_prot = prot_filter(args.prot) if args.prot else None
    lo, hi = parse_range(args.range) if args.range else (0, 1 << 64)

    def select(pid):
        return [v for v in mem.vmas(pid)
                if (keep_prot is None or keep_prot(v.prot))
                and (args.kind is None or v.kind == args.kind)
                and v.start < hi and v.end > lo]
    return select, lo, hi


def cmd_mem(args) -> int:
    dump = args.addr is not None or args.vma is not None
    search = args.search is not None or args.search_regex is not None
    if args.search is not None and args.search_regex is not None:
        raise CritError("mem: give --search or --search-regex, not both")
    if dump and search:
        raise CritError("mem: --addr/--vma dump memory and --search searches it: pick one")
    if args.addr is not None and args.vma is not None:
        raise CritError("mem: give --addr or --vma, not both")
    if (args.output or args.zero_fill) and not dump:
        raise CritError("mem: -o and --zero-fill go with --addr or --vma")
    if args.length is not None and args.addr is None:
        raise CritError("mem: --len goes with --addr")
    if dump and (args.prot or args.kind or args.range):
        raise CritError("mem: --prot, --kind and --range select VMAs for the table and "
                        "--search; --addr/--vma name the memory to dump")
    if args.json and dump:
        raise CritError("mem: --json is for the VMA table and --search (-o FILE writes "
                        "raw bytes)")
    if dump and args.pid is None:
        raise CritError("mem: --addr and --vma need a PID")
    if args.context is not None and not search:
        raise CritError("mem: --context goes with --search or --search-regex")
    cp = _checkpoint(args)
    mem = cp.memory(args.page_size)
    try:
        pids = _pids(cp, args.pid)
        if dump:
            return _dump(args, mem, pids[0])
        if search:
            return _search(args, mem, pids)
        return _table(args, mem, pids)
    finally:
        mem.close()


def _table(args, mem, pids: List[int]) -> int:
    from .explore.memmodel import TaskVmas, VmaUsage
    from .explore.memrender import vma_table
    from .explore.render import render_json
    select, _, _ = _selector(args, mem)
    tasks = []
    for pid in pids:
        rows = [VmaUsage(v, -(-v.size // mem.page_size), mem.pages_in_image(pid, v))
                for v in select(pid)]
        tasks.append(TaskVmas(pid, mem.page_size, rows))
    _write(render_json(tasks) if args.json else vma_table(tasks))
    return 0


def _dump(args, mem, pid: int) -> int:
    from .explore.memory import MissingPagesError
    from .explore.memrender import addr_width, hexdump
    if args.vma is not None:
        found = [v for v in mem.vmas(pid) if v.index == args.vma]
        if not found:
            raise CritError("pid %d has no VMA #%d (it has %d)" % (pid, args.vma,
                                                                   len(mem.vmas(pid))))
        start, end = found[0].start, found[0].end
    else:
        start = parse_addr(args.addr)
        end = start + (256 if args.length is None else parse_size(args.length))
        if end > 1 << 64:
            raise CritError("--addr %s --len %s runs past the 64-bit address space"
                            % (args.addr, args.length))
    if args.output:
        from .cli import write_atomic
        r = mem.read(pid, start, end - start)
        if r.holes and not args.zero_fill:
            raise MissingPagesError(pid, r.holes[0], mem.page_size, mem.cp.path)
        for h in r.holes:
            sys.stderr.write("critcore: %#x-%#x not in the checkpoint (%s): written as zeros\n"
                             % (h.start, h.end, h.reason))
        write_atomic(args.output, r.zero_filled())
        return 0
    out: List[str] = []
    for line in hexdump(mem.chunks(pid, start, end), addr_width(end), mem.page_size):
        out.append(line)
        if len(out) >= 4096:  # stream: a large VMA must not wait for its whole dump
            _write("\n".join(out) + "\n")
            out = []
    if out:
        _write("\n".join(out) + "\n")
    return 0


def _search(args, mem, pids: List[int]) -> int:
    import re
    from .explore.memrender import addr_width, match_line, matches_json
    from .explore.memsearch import search
    if args.search is not None:
        needle = args.search.encode("utf-8", "surrogateescape")
        if not needle:
            raise CritError("mem: --search needs a non-empty string")
        regex = re.compile(re.escape(needle))
    else:
        try:
            regex = re.compile(args.search_regex.encode("utf-8", "surrogateescape"))
        except re.error as e:
            raise CritError("mem: bad --search-regex %r: %s" % (args.search_regex, e)) from None
    context = 32 if args.context is None else parse_size(args.context)
    select, lo, hi = _selector(args, mem)
    found = search(mem, pids, regex, context, select, lo, hi)
    if args.json:
        _write(matches_json(found))
        return 0
    for m in found:
        _write(match_line(m, addr_width(m.vma.end)) + "\n")
    return 0


def cmd_inspect(args) -> int:
    from .explore.inspector import explore_inspect
    from .explore.memrender import inspect_json, inspect_text
    cp = _checkpoint(args)
    try:
        model = explore_inspect(cp, args.page_size)
    finally:
        cp.memory(args.page_size).close()
    _write(inspect_json(model, args.env) if args.json else inspect_text(model, args.env))
    return 0


def add_parsers(sub) -> None:
    """Add `mem` and `inspect` to the subcommand parsers of cli.build_parser()."""
    m = sub.add_parser("mem", help="process memory of a checkpoint: VMA table, hexdump, raw "
                       "bytes, search")
    m.add_argument("dir", help="checkpoint directory or archive (.tar, .tar.gz, .tar.bz2, "
                   ".tar.xz)")
    m.add_argument("pid", nargs="?", type=int, help="task (all tasks when left out: table "
                   "and search only)")
    g = m.add_argument_group("dump")
    g.add_argument("--addr", metavar="A", help="hexdump from address A (hex, 0x optional)")
    g.add_argument("--len", dest="length", metavar="N",
                   help="bytes from --addr (default 256; k/m/g suffixes)")
    g.add_argument("--vma", type=int, metavar="N", help="hexdump VMA number N of the table")
    g.add_argument("-o", "--out", dest="output", metavar="FILE",
                   help="write the raw bytes to FILE instead (fails on missing pages)")
    g.add_argument("--zero-fill", action="store_true",
                   help="with -o: write missing pages as zeros (each listed on stderr)")
    s = m.add_argument_group("search")
    s.add_argument("--search", metavar="TEXT", help="find TEXT (UTF-8 bytes)")
    s.add_argument("--search-regex", metavar="RE", help="find a Python bytes regex")
    s.add_argument("--context", metavar="N", help="bytes shown each side of a match (32)")
    f = m.add_argument_group("VMA filters (table and search)")
    f.add_argument("--prot", metavar="rwx", help="rights a VMA must have (rw; r-x exactly)")
    f.add_argument("--kind", choices=KINDS, help="VMA kind")
    f.add_argument("--range", metavar="A-B", help="VMAs overlapping [A, B) (hex)")
    m.add_argument("--page-size", type=int, default=4096, metavar="N",
                   help="the dumping machine's page size (default 4096)")
    m.add_argument("--json", action="store_true", help="the table or the matches as JSON")

    i = sub.add_parser("inspect", help="checkpointctl-style summary of a checkpoint directory "
                       "or archive")
    i.add_argument("dir", help="checkpoint directory or archive (.tar, .tar.gz, .tar.bz2, "
                   ".tar.xz)")
    i.add_argument("--env", action="store_true", help="show each task's environment")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.add_argument("--page-size", type=int, default=4096, metavar="N",
                   help="the dumping machine's page size (default 4096)")
