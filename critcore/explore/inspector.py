"""`inspect`: a checkpointctl-style summary of a checkpoint directory or archive, as a model.
Process tree with command lines and environments read from memory, files, sockets, sizes, stats."""
from __future__ import annotations

import json
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

from .checkpoint import Checkpoint, CheckpointError
from .explorers import explore_fds, explore_ps
from .memmodel import ContainerInfo, Inspect, InspectTask, TaskMemorySize
from .sockets import explore_sk
from .stats import explore_stats

# Container engines, by spec.dump's io.container.manager annotation (as checkpointctl
# tells them apart); anything else that carries CRI annotations is containerd.
ENGINES = (("libpod", "Podman"), ("cri-o", "CRI-O"))


def split_nul(data: bytes, drop_empty: bool = False) -> List[str]:
    """/proc-style NUL-separated strings (cmdline, environ), the final NUL optional.
    Undecodable bytes are kept as backslash escapes; an entry without "=" stays as it is.

    >>> split_nul(b"ls\\0-l\\0\\0")
    ['ls', '-l', '']
    >>> split_nul(b"A=1\\0JUNK\\0\\0B=\\xff\\0", drop_empty=True)
    ['A=1', 'JUNK', 'B=\\\\xff']
    """
    if data.endswith(b"\0"):
        data = data[:-1]
    if not data:
        return []
    parts = [p.decode("utf-8", "backslashreplace") for p in data.split(b"\0")]
    return [p for p in parts if p] if drop_empty else parts


def _json_doc(raw: Optional[bytes]) -> dict:
    if not raw:
        return {}
    try:
        doc = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {}  # an engine file we cannot read is left out, as if it were absent
    return doc if isinstance(doc, dict) else {}


def _time(value) -> Optional[str]:
    # Go writes the zero time.Time for "never"; it says nothing.
    if not value or str(value).startswith("0001-01-01"):
        return None
    return str(value)


def container_info(cp: Checkpoint) -> Optional[ContainerInfo]:
    """config.dump and spec.dump, when the checkpoint has them (archives, extracted ones)."""
    config = _json_doc(cp.source.meta("config.dump"))
    spec = _json_doc(cp.source.meta("spec.dump"))
    sizes = cp.source.meta_sizes()
    if not config and not spec:
        return None
    notes = spec.get("annotations") or {}
    if not isinstance(notes, dict):
        notes = {}
    manager = notes.get("io.container.manager")
    name = config.get("name")
    engine = dict(ENGINES).get(manager)
    if engine is None and any(k.startswith("io.kubernetes.cri.") for k in notes):
        engine = "containerd"
        name = notes.get("io.kubernetes.cri.container-name") or name
    if manager == "cri-o":
        meta = _json_doc((notes.get("io.kubernetes.cri-o.Metadata") or "").encode("utf-8"))
        name = meta.get("name") or notes.get("io.kubernetes.container.name") or name
    return ContainerInfo(
        name=name, id=config.get("id"),
        image=config.get("rootfsImageName") or config.get("rootfsImage"),
        image_ref=config.get("rootfsImageRef") or config.get("rootfsImageID"),
        runtime=config.get("runtime"), engine=engine or (manager or None),
        created=_time(config.get("createdTime") or notes.get("io.kubernetes.cri-o.Created")),
        checkpointed=_time(config.get("checkpointedTime")),
        namespace=notes.get("io.kubernetes.pod.namespace")
        or notes.get("io.kubernetes.cri.sandbox-namespace"),
        pod=notes.get("io.kubernetes.pod.name") or notes.get("io.kubernetes.cri.sandbox-name"),
        rootfs_diff_size=sizes.get("rootfs-diff.tar"))


def _strings(cp: Checkpoint, pid: int, mm: dict, what: str,
             page_size: int) -> Tuple[Optional[List[str]], str]:
    """(strings, note) from mm_<what>_start..mm_<what>_end; None and why when unreadable."""
    start, end = mm.get("mm_%s_start" % what), mm.get("mm_%s_end" % what)
    if start is None or end is None or end < start:
        return None, "no %s range in mm-%d.img" % (what, pid)
    r = cp.memory(page_size).read(pid, start, end - start)
    if r.holes:
        h = r.holes[0]
        return None, "%s at %#x is not in the checkpoint (%s)" % (
            "command line" if what == "arg" else "environment", h.start, h.reason)
    return split_nul(r.data(), drop_empty=what == "env"), ""


def _task(cp: Checkpoint, node, fds: Dict[int, object], sockets: Dict[int, list],
          live: set, page_size: int) -> InspectTask:
    t = InspectTask(node.pid, node.comm, node.state)
    if node.pid not in live:
        return t
    try:
        mm = cp.mm(node.pid)
        t.cmdline, note1 = _strings(cp, node.pid, mm, "arg", page_size)
        t.environ, note2 = _strings(cp, node.pid, mm, "env", page_size)
        t.memory_note = "; ".join(n for n in (note1, note2) if n) or None
        mem = cp.memory(page_size)
        vmas = mem.vmas(node.pid)
        held = sum(mem.pages_in_image(node.pid, v) for v in vmas)
        t.memory = TaskMemorySize(len(vmas), sum(v.size for v in vmas), held * mem.page_size)
    except CheckpointError as e:
        # A summary still shows the rest (files, sockets, children) when memory images
        # are missing or broken; the note says what went wrong, as one line would.
        t.memory_note = str(e)
    f = fds.get(node.pid)
    if f is not None:
        t.fds, t.cwd, t.root = f.fds, f.cwd, f.root
    t.sockets = sockets.get(node.pid, [])
    return t


def explore_inspect(cp: Checkpoint, page_size: int = 4096) -> Inspect:
    """The whole summary; the environment is always read (renderers may leave it out)."""
    names = cp.source.names()
    model = Inspect(cp.path, cp.source.kind, container_info(cp),
                    sum(size for _, size in names),
                    sum(size for n, size in names if n.startswith("pages-")))
    if cp.source.exists("stats-dump") or cp.source.exists("stats-restore"):
        model.stats = explore_stats(cp)
    live = set(cp.live_pids())
    fds = {t.pid: t for t in explore_fds(cp)}
    sockets: Dict[int, list] = {}
    for row in explore_sk(cp):
        for pid in sorted({o.pid for o in row.owners}):
            sockets.setdefault(pid, []).append(row)
    roots = explore_ps(cp)
    stack = [(n, model.tasks) for n in reversed(roots)]  # no recursion: trees can be deep
    while stack:
        node, siblings = stack.pop()
        t = _task(cp, node, fds, sockets, live, page_size)
        siblings.append(t)
        stack.extend((c, t.children) for c in reversed(node.children))
    return model
