"""A checkpoint directory as an object: decodes the images `x` and `stats` need, once each.
Every cache lives on the Checkpoint instance, so two checkpoints never see each other's data."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

from ..errors import CritError
from ..api import loads

# Task states as the kernel and compel number them (crit 4.2's names for 3 and 6 were swapped).
TASK_ALIVE, TASK_DEAD, TASK_STOPPED, TASK_ZOMBIE = 1, 2, 3, 6

# files.img keeps each file's type-specific entry under one field; older dumps put the same
# entries, without the wrapper, in one image per file type.
LEGACY_FILE_IMAGES = {
    "REG": ("reg", "reg-files.img", "REG_FILES"),
    "PIPE": ("pipe", "pipes.img", "PIPES"),
    "UNIXSK": ("usk", "unixsk.img", "UNIXSK"),
    "INETSK": ("isk", "inetsk.img", "INETSK"),
    "PACKETSK": ("psk", "packetsk.img", "PACKETSK"),
    "NETLINKSK": ("nlsk", "netlinksk.img", "NETLINK_SK"),
}
SOCKET_TYPES = ("INETSK", "UNIXSK", "PACKETSK", "NETLINKSK")


class CheckpointError(CritError):
    """The directory is not a usable checkpoint: not a directory, or an image is missing or
    of the wrong kind. `file` names the directory or image.

    >>> str(CheckpointError("missing image", file="dump/core-7.img"))
    'dump/core-7.img: missing image'
    """


class Checkpoint:
    """Lazy, cached access to the images of one checkpoint (plain, non-pretty values).

    `path` is a directory, a checkpoint archive (.tar, .tar.gz, .tar.bz2, .tar.xz, images
    under checkpoint/) or an explore.source.Source. Raises CheckpointError at once when it
    holds no pstree.img, so every explorer fails the same way on a wrong argument. `stats`
    passes need_pstree=False: a pre-dump directory has stats but no process tree.

    >>> Checkpoint("/nonexistent")
    Traceback (most recent call last):
    ...
    critcore.explore.checkpoint.CheckpointError: /nonexistent: no such directory
    """

    def __init__(self, path, need_pstree: bool = True, schema=None):
        from .source import open_source  # a directory, an archive, or a Source already
        self.source = open_source(path)
        self.path = self.source.path
        self.schema = schema  # None: the default schema (bundled, or $CRITCORE_PROTO_DIR)
        if need_pstree and not self.source.exists("pstree.img"):
            raise CheckpointError("not a checkpoint %s (no pstree.img)" % self.source.kind,
                                  file=self.path)
        self._images: Dict[object, List[dict]] = {}
        self._memory: Dict[int, object] = {}
        self._files: Optional[Dict[int, dict]] = None
        self._legacy: Dict[str, Optional[Dict[int, dict]]] = {}

    # -- whole images -------------------------------------------------------------------

    def image(self, name: str, magic: str, optional: bool = False,
              no_payload: bool = False) -> Optional[List[dict]]:
        """The entries of image `name`, which must carry `magic`; None if it is absent and
        `optional`, CheckpointError if it is absent and required. `no_payload` skips the
        raw data after entries (tcp-stream queues, sk-queues packets) that nobody reads."""
        key = (name, no_payload) if no_payload else name
        if key in self._images:
            return self._images[key]
        where = self.source.label(name)
        data = self.source.read(name)  # CheckpointError when it exists but cannot be read
        if data is None:
            if optional:
                return None
            raise CheckpointError("missing image", file=where)
        img = loads(data, no_payload=no_payload, file=where, schema=self.schema)
        if img["magic"] != magic:
            raise CheckpointError("wrong image: magic %s, expected %s" % (img["magic"], magic),
                                  file=where)
        self._images[key] = img["entries"]
        return img["entries"]

    def _first(self, name: str, magic: str) -> dict:
        # core, ids, mm and fs images hold exactly one entry per task.
        entries = self.image(name, magic)
        if not entries:
            raise CheckpointError("image has no entries", file=self.source.label(name))
        return entries[0]

    def memory(self, page_size: int = 4096):
        """The page reader (explore.memory.Memory) of this checkpoint, one per page size."""
        mem = self._memory.get(page_size)
        if mem is None:
            from .memory import Memory
            mem = self._memory[page_size] = Memory(self, page_size)
        return mem

    # -- per-task images ----------------------------------------------------------------

    def pstree(self) -> List[dict]:
        return self.image("pstree.img", "PSTREE")

    def core(self, pid: int) -> dict:
        return self._first("core-%d.img" % pid, "CORE")

    def ids(self, pid: int) -> dict:
        return self._first("ids-%d.img" % pid, "IDS")

    def mm(self, pid: int) -> dict:
        return self._first("mm-%d.img" % pid, "MM")

    def fs(self, pid: int) -> dict:
        return self._first("fs-%d.img" % pid, "FS")

    def pagemap(self, pid: int) -> List[dict]:
        """All entries, the pagemap_head first (as crit returns them)."""
        return self.image("pagemap-%d.img" % pid, "PAGEMAP")

    def fdinfo(self, files_id: int) -> List[dict]:
        return self.image("fdinfo-%d.img" % files_id, "FDINFO")

    def task_state(self, pid: int) -> Optional[int]:
        """core's tc.task_state (TASK_ALIVE, TASK_DEAD, ...), or None if the core has no tc."""
        tc = self.core(pid).get("tc")
        return tc.get("task_state") if tc else None

    def is_dead(self, pid: int) -> bool:
        """Dead and zombie tasks are dumped with a core image only: nothing else to explore."""
        return self.task_state(pid) in (TASK_DEAD, TASK_ZOMBIE)

    def live_pids(self) -> List[int]:
        """pids of the tasks that have more than a core image (not dead, not zombie)."""
        return [pid for pid in (self.task_id(p, "pid") for p in self.pstree())
                if not self.is_dead(pid)]

    def task_id(self, entry: dict, which: str) -> int:
        """pid, pgid or sid of a pstree entry; in a pid namespace only ns_<which>[0] is set."""
        if which in entry:
            return entry[which]
        ns = entry.get("ns_" + which)
        if ns:
            return ns[0]
        raise CheckpointError("pstree entry has neither %s nor ns_%s" % (which, which),
                              file=self.source.label("pstree.img"))

    # -- files ----------------------------------------------------------------------------

    def files(self) -> Dict[int, dict]:
        """files.img entries by id ({} when the dump predates files.img)."""
        if self._files is None:
            entries = self.image("files.img", "FILES", optional=True) or []
            by_id: Dict[int, dict] = {}
            for f in entries:
                by_id.setdefault(f.get("id"), f)  # crit takes the first of duplicate ids
            self._files = by_id
        return self._files

    def file_entry(self, ftype: str, fid: int) -> Optional[dict]:
        """The type-specific entry (reg_file_entry, pipe_entry, unix_sk_entry) of file `fid`.

        Like crit: an id present in files.img is answered from there only (None when it
        holds another type); other ids are looked up in the legacy per-type image, absent
        legacy images counting as empty.
        """
        f = self.files().get(fid)
        if f is not None:
            return f.get(LEGACY_FILE_IMAGES[ftype][0])
        legacy = self._legacy_by_id(ftype)
        return legacy.get(fid) if legacy else None

    def _legacy_by_id(self, ftype: str) -> Optional[Dict[int, dict]]:
        _, legacy_name, magic = LEGACY_FILE_IMAGES[ftype]
        if legacy_name not in self._legacy:
            entries = self.image(legacy_name, magic, optional=True)
            by_id = None
            if entries is not None:
                by_id = {}
                for e in entries:
                    by_id.setdefault(e.get("id"), e)
            self._legacy[legacy_name] = by_id
        return self._legacy[legacy_name]

    # -- sockets and statistics ----------------------------------------------------------

    def sockets(self) -> List[Tuple[str, dict]]:
        """(file type, type-specific entry) of every socket: files.img's in its order, then
        those of the legacy images (inetsk.img, unixsk.img...) whose ids files.img lacks."""
        files = self.files()
        out = []
        for f in files.values():
            ftype = f.get("type")
            if ftype in SOCKET_TYPES:
                entry = f.get(LEGACY_FILE_IMAGES[ftype][0])
                if entry is not None:
                    out.append((ftype, entry))
        for ftype in SOCKET_TYPES:
            for fid, entry in (self._legacy_by_id(ftype) or {}).items():
                if fid not in files:
                    out.append((ftype, entry))
        return out

    def tcp_stream(self, ino: int) -> Optional[dict]:
        """The tcp_stream_entry of the TCP socket with inode `ino` (queue sizes, sequence
        numbers), None when CRIU wrote none (listening or closed sockets)."""
        entries = self.image("tcp-stream-%x.img" % ino, "TCP_STREAM", optional=True,
                             no_payload=True)
        return entries[0] if entries else None

    def sk_queues(self) -> List[dict]:
        """sk-queues.img: the packets queued on unix sockets (sk_packet_entry, id_for is the
        receiving socket's file id); [] when there is no such image."""
        return self.image("sk-queues.img", "SK_QUEUES", optional=True, no_payload=True) or []

    def stats(self, name: str) -> Optional[dict]:
        """The stats_entry of `stats-dump` or `stats-restore`, None if the file is absent."""
        entries = self.image(name, "STATS", optional=True)
        if entries is None:
            return None
        if not entries:
            raise CheckpointError("image has no entries", file=self.source.label(name))
        return entries[0]
