"""The `x` explorers ps, fds, mems and rss: each turns a Checkpoint into a model of plain data.
They follow crit 4.2, but skip dead and zombie tasks where crit crashed on their missing images."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Callable, Dict, List, Optional, Tuple

from ..schema import default_schema
from .checkpoint import Checkpoint
from .model import (FdRow, MemVma, PageRun, PsNode, RssVma, TaskFds, TaskMems, TaskRss)
from .sockets import explore_sk

PAGE_SHIFT = 12  # the corpus, and crit, assume 4 KiB pages

# vma_entry.status bits (criu/include/image.h)
VMA_AREA_REGULAR = 1 << 0
VMA_AREA_STACK = 1 << 1
VMA_AREA_VSYSCALL = 1 << 2
VMA_AREA_VDSO = 1 << 3
VMA_FILE_PRIVATE = 1 << 6
VMA_FILE_SHARED = 1 << 7
VMA_ANON_SHARED = 1 << 8
VMA_AREA_SYSVIPC = 1 << 10
VMA_AREA_SOCKET = 1 << 11
VMA_FILE = VMA_FILE_PRIVATE | VMA_FILE_SHARED
MAP_GROWSDOWN = 0x0100


class FileNames:
    """crit's one-line description of a file id, memoised for one explorer run.

    The memo is per instance: crit kept it (and the images behind it) in module globals,
    so a second checkpoint explored in the same process got the first one's names.

    >>> class OneFile:  # stands in for a Checkpoint
    ...     def file_entry(self, ftype, fid):
    ...         return {"name": "/bin/sh"} if (ftype, fid) == ("REG", 3) else None
    >>> names = FileNames(OneFile())
    >>> names.reg(3), names.reg(4), names("PIPE", 5), names("EVENTFD", 6)
    ('/bin/sh', 'unknown path', 'pipe[?]', 'EVENTFD.6')
    """

    def __init__(self, cp: Checkpoint):
        self.cp = cp
        self._memo: Dict[Tuple[object, int], str] = {}

    def __call__(self, ftype, fid: int) -> str:
        key = (ftype, fid)
        s = self._memo.get(key)
        if s is None:
            s = self._memo[key] = self._describe(ftype, fid)
        return s

    def reg(self, fid: int) -> str:
        return self("REG", fid)

    def _describe(self, ftype, fid: int) -> str:
        if ftype == "REG":
            rf = self.cp.file_entry("REG", fid)
            return rf["name"] if rf and rf.get("name") else "unknown path"
        if ftype == "PIPE":
            p = self.cp.file_entry("PIPE", fid)
            return "pipe[%d]" % p["pipe_id"] if p else "pipe[?]"
        if ftype == "UNIXSK":
            ux = self.cp.file_entry("UNIXSK", fid)
            if not ux:
                return "unix[?]"
            name = ux.get("name")
            return "unix[%d (%d)%s]" % (ux["ino"], ux["peer"], " %s" % name if name else "")
        return "%s.%d" % (ftype, fid)


def task_state_name(cp: Checkpoint, pid: int) -> Optional[str]:
    """core's task_state by CRIU's name for it (schema/pretty.yaml), else the number."""
    state = cp.task_state(pid)
    if state is None:
        return None
    names = (cp.schema or default_schema()).dicts["gen"]["task_state"]
    return names.get(state, str(state))


def explore_ps(cp: Checkpoint) -> List[PsNode]:
    """The process tree: its roots, each with its children in pstree order."""
    entries = cp.pstree()
    kids: Dict[int, List[dict]] = {}
    pids = {cp.task_id(p, "pid") for p in entries}
    roots = []
    for p in entries:
        # crit only knew ppid 0 as a root and crashed on an unknown parent; show those too
        if p.get("ppid", 0) == 0 or p["ppid"] not in pids:
            roots.append(p)
        else:
            kids.setdefault(p["ppid"], []).append(p)
    out: List[PsNode] = []
    # Explicit stack rather than recursion: pstree depth is bounded by nothing we control.
    stack = [(p, out) for p in reversed(roots)]
    seen = set()
    while stack:
        p, siblings = stack.pop()
        pid = cp.task_id(p, "pid")
        if pid in seen:  # a cycle in a corrupt pstree must not loop forever
            continue
        seen.add(pid)
        tc = cp.core(pid).get("tc") or {}
        node = PsNode(pid, cp.task_id(p, "pgid"), cp.task_id(p, "sid"), tc.get("comm", ""),
                      task_state_name(cp, pid))
        siblings.append(node)
        stack.extend((k, node.children) for k in reversed(kids.get(pid, ())))
    return out


def explore_fds(cp: Checkpoint) -> List[TaskFds]:
    names = FileNames(cp)
    out = []
    for pid in cp.live_pids():
        t = TaskFds(pid)
        for fd in cp.fdinfo(cp.ids(pid)["files_id"]):
            t.fds.append(FdRow(fd["fd"], str(fd["type"]), names(fd["type"], fd["id"])))
        fs = cp.fs(pid)
        t.cwd = names.reg(fs["cwd_id"])
        t.root = names.reg(fs["root_id"])
        out.append(t)
    return out


def _prot(prot: int) -> str:
    return "".join(c if prot & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))


def explore_mems(cp: Checkpoint) -> List[TaskMems]:
    names = FileNames(cp)
    # shmem/SysV/packet mappings are numbered by first appearance, across all tasks of one
    # run, so the same segment gets the same number in every task that maps it.
    vids: Dict[int, int] = {}

    def vid(shmid: int) -> int:
        return vids.setdefault(shmid, len(vids) + 1)

    out = []
    for pid in cp.live_pids():
        mm = cp.mm(pid)
        t = TaskMems(pid, names.reg(mm["exe_file_id"]))
        for vma in mm.get("vmas", ()):
            st = vma["status"]
            v = MemVma(vma["start"], vma["end"], _prot(vma["prot"]), "",
                       regular=bool(st & VMA_AREA_REGULAR))
            if st & VMA_AREA_SYSVIPC:
                v.name = "ips[%x]" % vid(vma["shmid"])
            elif st & VMA_ANON_SHARED:
                v.name = "shmem[%x]" % vid(vma["shmid"])
            elif st & VMA_AREA_SOCKET:
                v.name = "packet[%x]" % vid(vma["shmid"])
            elif st & VMA_FILE:
                v.name = names.reg(vma["shmid"])
                v.pgoff = vma.get("pgoff", 0)
                v.shared = bool(st & VMA_FILE_SHARED)
            elif st & VMA_AREA_STACK:
                v.name = "[stack]"
            elif st & VMA_AREA_VSYSCALL:
                v.name = "[vsyscall]"
            elif st & VMA_AREA_VDSO:
                v.name = "[vdso]"
            elif vma["flags"] & MAP_GROWSDOWN:
                v.name = "[stack?]"
            t.vmas.append(v)
        out.append(t)
    return out


def _nr_pages(pm: dict) -> int:
    # CRIU 4.2 added the 64-bit nr_pages; older pagemaps only have compat_nr_pages.
    return pm["nr_pages"] if "nr_pages" in pm else pm["compat_nr_pages"]


def explore_rss(cp: Checkpoint) -> List[TaskRss]:
    names = FileNames(cp)
    out = []
    for pid in cp.live_pids():
        vmas = cp.mm(pid).get("vmas", [])
        t = TaskRss(pid)
        n = len(vmas)
        vmi, pvmi = 0, -1  # vmas and page runs are both sorted: walk them together
        for pm in cp.pagemap(pid)[1:]:
            vaddr, nr = pm["vaddr"], _nr_pages(pm)
            run = PageRun(vaddr, nr)
            while vmi < n and vmas[vmi]["end"] <= vaddr:
                vmi += 1
            pme = vaddr + (nr << PAGE_SHIFT)
            while vmi < n and vmas[vmi]["start"] < pme:
                vma = vmas[vmi]
                fname = names.reg(vma["shmid"]) if vma["status"] & VMA_FILE else None
                run.vmas.append(RssVma(vma["start"], (vma["end"] - vma["start"]) >> PAGE_SHIFT,
                                       fname, repeat=vmi == pvmi))
                pvmi = vmi
                vmi += 1
            # Step back: the last VMA may also hold the next run (it is then shown as "~").
            vmi = max(vmi - 1, 0)
            t.runs.append(run)
        out.append(t)
    return out


EXPLORERS: Dict[str, Callable[[Checkpoint], list]] = {
    "ps": explore_ps,
    "fds": explore_fds,
    "mems": explore_mems,
    "rss": explore_rss,
    "sk": explore_sk,
}
