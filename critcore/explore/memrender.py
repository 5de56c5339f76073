"""Text and JSON for `mem` (VMA table, hexdump, search matches) and `inspect` (a tree).
Renderers only format the models of memmodel.py; bytes are shown escaped, never decoded."""
from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Iterable, Iterator, List, Optional, Tuple, Union

from .memmodel import Hole, Inspect, InspectTask, Match, TaskVmas
from .model import as_plain
from .render import human_time

_TEXT = tuple({0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r", 34: '\\"', 92: "\\\\"}.get(c)
              or (chr(c) if 32 <= c < 127 else "\\x%02x" % c) for c in range(256))
_ASCII = bytes(c if 32 <= c < 127 else 46 for c in range(256))  # hexdump's column: "." else


def escape(data: bytes) -> str:
    """Bytes as C-like text: printable ASCII as is, the rest escaped; reversible.

    >>> escape(b'ab\\x00"\\\\\\n\\xff')
    'ab\\\\0\\\\"\\\\\\\\\\\\n\\\\xff'
    """
    return "".join([_TEXT[c] for c in data])


def human_bytes(n: int) -> str:
    """A size in B, KiB, MiB or GiB.

    >>> human_bytes(512), human_bytes(8192), human_bytes(20 << 20), human_bytes(1536)
    ('512 B', '8 KiB', '20 MiB', '1.5 KiB')
    """
    if n < 1024:
        return "%d B" % n
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return ("%d %s" if size == int(size) else "%.1f %s") % (size, unit)


def _table(header: Tuple[str, ...], rows: List[Tuple[str, ...]], right: Iterable[int]) -> List[str]:
    table = [header] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = set(right)
    return ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                      for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in table]


def addr_width(end: int) -> int:
    """Hex digits for addresses up to `end`: 12 for user space, 16 above it."""
    return max(12, len("%x" % max(end - 1, 0)))


def vma_table(tasks: List[TaskVmas]) -> str:
    lines = []
    for t in tasks:
        width = addr_width(max((r.vma.end for r in t.rows), default=0))
        pages = sum(r.pages for r in t.rows)
        held = sum(r.in_image for r in t.rows)
        lines.append("pid %d: %d VMAs, %d pages (%s), %d of them in the checkpoint (%s)"
                     % (t.pid, len(t.rows), pages, human_bytes(pages * t.page_size), held,
                        human_bytes(held * t.page_size)))
        rows = [("%d" % r.vma.index, "%0*x" % (width, r.vma.start), "%0*x" % (width, r.vma.end),
                 human_bytes(r.vma.size), r.vma.prot, r.vma.kind, "%d" % r.pages,
                 "%d" % r.in_image, r.vma.name) for r in t.rows]
        lines.extend(_table(("#", "START", "END", "SIZE", "PROT", "KIND", "PAGES", "IN IMAGE",
                             "NAME"), rows, (0, 3, 6, 7)))
    return "".join(line + "\n" for line in lines)


def _hex_line(addr: int, lead: int, data: bytes, width: int) -> str:
    cells = ["  "] * lead + ["%02x" % c for c in data] + ["  "] * (16 - lead - len(data))
    text = " " * lead + data.translate(_ASCII).decode("ascii")
    return "%0*x  %s  %s  |%s|" % (width, addr, " ".join(cells[:8]), " ".join(cells[8:]), text)



def hexdump(items: Iterable[Union[Tuple[int, bytes], Hole]], width: int = 12,
            page_size: int = 4096) -> Iterator[str]:
    """Lines of `hexdump -C` over (address, bytes) pieces and Holes: 16 bytes a line on
    16-byte addresses, "*" for lines equal to the one before, one line per hole.

    >>> for line in hexdump([(0x1000, b"A" * 40), Hole(0x1028, 0x2000, "lazy")]):
    ...     print(line)
    000000001000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|
    *
    000000001020  41 41 41 41 41 41 41 41                           |AAAAAAAA|
    000000001028  -- 000000001028-000000002000: 1 page not in the checkpoint (lazy) --
    """
    prev: Optional[bytes] = None
    starred = False
    tail_addr, tail = -1, b""  # the start of an unfinished line, carried to the next piece
    last_end = None
    for item in items:
        if isinstance(item, Hole):
            if tail:
                yield _hex_line(tail_addr & ~15, tail_addr & 15, tail, width)
            tail, prev, starred = b"", None, False
            n = -(-(item.end - item.start) // page_size)
            yield "%0*x  -- %0*x-%0*x: %d page%s not in the checkpoint (%s) --" % (
                width, item.start, width, item.start, width, item.end, n,
                "" if n == 1 else "s", item.reason)
            last_end = None
            continue
        addr, data = item
        if tail and tail_addr + len(tail) == addr:
            addr, data = tail_addr, tail + data
        elif tail:
            yield _hex_line(tail_addr & ~15, tail_addr & 15, tail, width)
            prev, starred = None, False
        tail = b""
        pos, n = 0, len(data)
        lead = addr & 15
        if lead:  # a first line that starts mid-line
            take = min(16 - lead, n)
            if take < 16 - lead:
                tail_addr, tail = addr, data
                continue
            yield _hex_line(addr - lead, lead, data[:take], width)
            pos, prev, starred = take, None, False
        while n - pos >= 16:
            line = data[pos:pos + 16]
            if line == prev:
                if not starred:
                    yield "*"
                    starred = True
            else:
                yield _hex_line(addr + pos, 0, line, width)
                prev, starred = line, False
            pos += 16
        if pos < n:
            tail_addr, tail = addr + pos, data[pos:]
        last_end = addr + n
    if tail:
        yield _hex_line(tail_addr & ~15, tail_addr & 15, tail, width)
    elif starred and last_end is not None:
        yield "%0*x" % (width, last_end)


def match_line(m: Match, width: int = 12) -> str:
    """One search hit: pid, address, VMA, then "before" "match" "after", escaped."""
    return '%d  %0*x  #%d %s %s  "%s" "%s" "%s"' % (
        m.pid, width, m.addr, m.vma.index, m.vma.prot, m.vma.name or "[" + m.vma.kind + "]",
        escape(m.before), escape(m.match), escape(m.after))


def match_plain(m: Match) -> dict:
    return {"pid": m.pid, "addr": m.addr, "vma": m.vma.index, "vma_name": m.vma.name,
            "vma_kind": m.vma.kind, "match": escape(m.match), "before": escape(m.before),
            "after": escape(m.after)}


def matches_json(matches: Iterable[Match]) -> str:
    return json.dumps([match_plain(m) for m in matches]) + "\n"


# -- inspect -------------------------------------------------------------------------------

def _tree(label: str, kids: list) -> List[str]:
    """Lines of a tree of (label, children) nodes, drawn like checkpointctl's. No
    recursion: a process tree can be deeper than Python's stack."""
    lines = [label]
    stack = [(k, "", i == len(kids) - 1) for i, k in reversed(list(enumerate(kids)))]
    while stack:
        (lab, sub), prefix, last = stack.pop()
        lines.append(prefix + ("└── " if last else "├── ") + lab)
        inner = prefix + ("    " if last else "│   ")
        stack.extend((k, inner, i == len(sub) - 1) for i, k in reversed(list(enumerate(sub))))
    return lines


def _stats_nodes(stats) -> list:
    from . import render
    # the labels `stats` prints, where render.py has them; else made from the field name
    labels = {f: label for label, f, _ in getattr(render, "_DUMP_LINES", ())
              + getattr(render, "_RESTORE_LINES", ())}
    nodes = []
    for side in ("dump", "restore"):
        part = getattr(stats, side)
        if part is None:
            continue
        rows = []
        for field, value in as_plain(part).items():
            if value is None:
                continue
            label = labels.get(field) or (field[:-3] if field.endswith("_us") else field)
            label = label.replace("_", " ").capitalize()
            shown = human_time(value) if field.endswith("_us") else (
                render.human_pages(value) if "pages" in field else str(value))
            rows.append(("%s: %s" % (label, shown), []))
        nodes.append(("CRIU %s statistics" % side, rows))
    if stats.downtime_us is not None:
        nodes.append(("Process downtime: %s" % human_time(stats.downtime_us), []))
    return nodes


def _endpoint(addr, port) -> str:
    addr = "*" if addr is None else ("[%s]" % addr if ":" in addr else addr)
    return "%s:%s" % (addr, port or "*")


def _sk_label(r) -> str:
    """A socket as checkpointctl shows one: protocol (state) local -> peer."""
    if r.family in ("INET", "INET6"):
        ends = _endpoint(r.src_addr, r.src_port), _endpoint(r.dst_addr, r.dst_port)
        kind = r.proto or r.family
    elif r.family == "UNIX":
        ends = (r.name or "*") + (" (deleted)" if r.deleted else ""), str(r.peer or "*")
        kind = "UNIX %s" % (r.type or "")
    else:
        ends = str(r.portid or r.ifindex or "*"), str(r.dst_portid or "*")
        kind = "%s %s" % (r.family, r.proto or "")
    state = " (%s)" % r.state if r.state else ""
    return "%s%s %s -> %s" % (kind.strip(), state, ends[0], ends[1])


def _task_kids(t: InspectTask, env: bool) -> list:
    kids = []
    if t.cmdline is not None:
        kids.append(("Command line: %s" % " ".join(t.cmdline), []))
    if env and t.environ is not None:
        kids.append(("Environment variables", [(e, []) for e in t.environ]))
    if t.memory_note:
        kids.append(("Note: %s" % t.memory_note, []))
    if t.memory is not None:
        kids.append(("Memory: %d VMAs, %s mapped, %s in the checkpoint"
                     % (t.memory.vmas, human_bytes(t.memory.mapped_bytes),
                        human_bytes(t.memory.in_image_bytes)), []))
    if t.fds or t.cwd:
        files = [("[%s %d]  %s" % (f.type, f.fd, f.file), []) for f in t.fds]
        files += [("[cwd]  %s" % t.cwd, []), ("[root]  %s" % t.root, [])]
        kids.append(("Open files", files))
    if t.sockets:
        kids.append(("Open sockets", [("[fd %s]  %s" % (
            ",".join("%d" % o.fd for o in r.owners if o.pid == t.pid), _sk_label(r)), [])
            for r in t.sockets]))
    return kids


def _process_nodes(tasks: List[InspectTask], env: bool) -> list:
    out: list = []
    stack = [(t, out) for t in reversed(tasks)]  # no recursion: see _tree
    while stack:
        t, siblings = stack.pop()
        kids = _task_kids(t, env)
        state = "" if t.state in (None, "Alive") else " (%s)" % t.state
        siblings.append(("[%d]  %s%s" % (t.pid, t.comm, state), kids))
        stack.extend((c, kids) for c in reversed(t.children))
    return out


def inspect_text(model: Inspect, env: bool = False) -> str:
    top = []
    c = model.container
    if c is not None:
        rows = [("%s: %s" % (label, getattr(c, field)), []) for label, field in (
            ("Name", "name"), ("ID", "id"), ("Image", "image"), ("Image ID", "image_ref"),
            ("Runtime", "runtime"), ("Engine", "engine"), ("Created", "created"),
            ("Checkpointed", "checkpointed"), ("Namespace", "namespace"), ("Pod", "pod"))
            if getattr(c, field) is not None]
        if c.rootfs_diff_size is not None:
            rows.append(("Root FS diff size: %s" % human_bytes(c.rootfs_diff_size), []))
        top.append(("Container", rows))
    top.append(("Checkpoint size: %s" % human_bytes(model.images_bytes),
                [("Memory pages size: %s" % human_bytes(model.pages_bytes), [])]))
    if model.stats is not None:
        top.extend(_stats_nodes(model.stats))
    top.append(("Process tree", _process_nodes(model.tasks, env)))
    return "".join(line + "\n" for line in _tree("%s (%s)" % (model.path, model.kind), top))


def inspect_json(model: Inspect, env: bool = False) -> str:
    doc = as_plain(model)
    if not env:
        stack = list(doc["tasks"])
        while stack:
            t = stack.pop()
            t.pop("environ", None)
            stack.extend(t["children"])
    return json.dumps(doc) + "\n"
