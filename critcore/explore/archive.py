"""Container checkpoint archives (Podman, CRI-O, kubelet): a tar, plain or compressed, with
CRIU's images under checkpoint/. Members are read in place, never extracted; unsafe names fail."""
from __future__ import annotations

import os
import posixpath
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

from .checkpoint import CheckpointError
from .source import IMAGES_DIR, PARENT_LINK, ROOT_FALLBACK, Source

# A compressed tar can only be read front to back, so the one pass that lists it also keeps
# the small members: protobuf images (pages-*.img excepted) and the engine's metadata files.
IMAGE_CACHE_LIMIT = 64 << 20
META_CACHE_LIMIT = 1 << 20
_MAGICS = ((b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
_MAX_LINK_HOPS = 16


def looks_like_tar(path: str) -> bool:
    """A tar by its content: a compressed stream (gzip, bzip2, xz) or a ustar header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return any(head.startswith(m) for m, _ in _MAGICS) or head[257:262] == b"ustar"


def _compression(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    return ""


def safe_name(name: str) -> str:
    """A member name in normal form, or ValueError when it would leave the archive's root.

    >>> safe_name("./checkpoint//core-1.img"), safe_name("checkpoint/./x/../pstree.img")
    ('checkpoint/core-1.img', 'checkpoint/pstree.img')
    >>> safe_name("/etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: absolute path
    >>> safe_name("checkpoint/../../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: leaves the archive
    """
    if name.startswith("/") or name.startswith("\\"):
        raise ValueError("absolute path")
    if "\0" in name:
        raise ValueError("NUL in name")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise ValueError("leaves the archive")
    return "" if norm == "." else norm


class _Member:
    __slots__ = ("name", "kind", "size", "offset", "target", "data")

    def __init__(self, name: str, kind: str, size: int = 0, offset: int = 0,
                 target: str = "", data: Optional[bytes] = None):
        self.name, self.kind, self.size, self.offset = name, kind, size, offset
        self.target, self.data = target, data


class _Index:
    """Every member of one archive, listed in a single pass; shared by a checkpoint and
    the parents inside the same archive."""

    def __init__(self, path: str):
        import tarfile
        self.path = path
        self.compression = _compression(path)
        self.members: Dict[str, _Member] = {}
        try:
            with tarfile.open(path, "r:*") as tf:
                while True:
                    ti = tf.next()
                    if ti is None:
                        break
                    self._add(tf, ti)
        except CheckpointError:
            raise
        except (tarfile.TarError, EOFError, OSError, ValueError) as e:
            raise CheckpointError("not a readable tar archive: %s" % (e,), file=path) from None
        except Exception as e:  # zlib.error, lzma.LZMAError, ...: a corrupt compressed stream
            raise CheckpointError("not a readable tar archive: %s: %s"
                                  % (type(e).__name__, e), file=path) from None

    def _add(self, tf, ti) -> None:
        try:
            name = safe_name(ti.name)
            target = ""
            if ti.issym():
                if ti.linkname.startswith("/"):
                    raise ValueError("symbolic link to an absolute path %r" % ti.linkname)
                target = safe_name(posixpath.join(posixpath.dirname(name), ti.linkname))
            elif ti.islnk():
                target = safe_name(ti.linkname)
        except ValueError as e:
            raise CheckpointError("unsafe member %r (%s): refusing the archive"
                                  % (ti.name, e), file=self.path) from None
        if ti.isreg():
            if ti.issparse():
                raise CheckpointError("sparse member %r is not supported" % ti.name,
                                      file=self.path)
            data = None
            if self.compression and self._keep(name, ti.size):
                data = tf.extractfile(ti).read()  # forward read: cheap in the single pass
            self.members[name] = _Member(name, "file", ti.size, ti.offset_data, data=data)
        elif ti.isdir():
            self.members[name] = _Member(name, "dir")
        elif ti.issym() or ti.islnk():
            self.members[name] = _Member(name, "link", target=target)
        else:
            self.members[name] = _Member(name, "other")

    @staticmethod
    def _keep(name: str, size: int) -> bool:
        base = posixpath.basename(name)
        if "/" not in name:
            return size <= META_CACHE_LIMIT
        return size <= IMAGE_CACHE_LIMIT and not base.startswith("pages-")

    def resolve(self, name: str) -> Optional[_Member]:
        """The member `name` stands for, after links inside the archive; None if absent."""
        for _ in range(_MAX_LINK_HOPS):
            m = self.members.get(name)
            if m is None or m.kind != "link":
                return m
            name = m.target
        raise CheckpointError("links loop at member %r" % name, file=self.path)

    def read(self, m: _Member) -> bytes:
        if m.data is not None:
            return m.data
        raw = self.open(m)
        try:
            data = raw.pread(0, m.size)
        finally:
            raw.close()
        if len(data) != m.size:
            raise CheckpointError("archive ends inside member %r" % m.name, file=self.path)
        return data

    def open(self, m: _Member) -> "_MemberFile":
        return _MemberFile(self, m)

    def has_dir(self, prefix: str) -> bool:
        return any(n.startswith(prefix) for n in self.members)


class _MemberFile:
    """Random reads inside one archive member: pread on the archive for a plain tar, a
    seekable decompressing stream otherwise (forward seeks decompress, backward ones
    restart the stream, so reads in address order cost one pass)."""

    def __init__(self, index: _Index, m: _Member):
        self.label = os.path.join(index.path, m.name)
        self.size = m.size
        self._base = m.offset
        self._data = m.data
        self._fh = None
        if self._data is None:
            kind = index.compression
            if kind == "gz":
                import gzip
                self._fh = gzip.open(index.path, "rb")
            elif kind == "bz2":
                import bz2
                self._fh = bz2.open(index.path, "rb")
            elif kind == "xz":
                import lzma
                self._fh = lzma.open(index.path, "rb")
            else:
                self._fh = open(index.path, "rb")

    def pread(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        if self._data is not None:
            return self._data[offset:offset + n]
        try:
            self._fh.seek(self._base + offset)
            return self._fh.read(n)
        except Exception as e:  # OSError, EOFError, zlib/lzma errors: a corrupt archive
            raise CheckpointError("cannot read archive member: %s" % (e,), file=self.label,
                                  offset=offset) from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ArchiveSource(Source):
    """A checkpoint archive, read in place: images under checkpoint/ (or at the root when
    there is no checkpoint/), metadata (config.dump, spec.dump) and stats-dump at the root.

    >>> ArchiveSource("/nonexistent.tar")
    Traceback (most recent call last):
    ...
    critcore.explore.checkpoint.CheckpointError: /nonexistent.tar: no such file
    """

    kind = "archive"

    def __init__(self, path: str, _index: Optional[_Index] = None, _prefix: Optional[str] = None,
                 _chain: Tuple[str, ...] = ()):
        self.path = path
        try:
            self._index = _index or _Index(path)
        except FileNotFoundError:
            raise CheckpointError("no such file", file=path) from None
        if _prefix is None:
            _prefix = IMAGES_DIR + "/" if self._index.has_dir(IMAGES_DIR + "/") else ""
        self.prefix = _prefix
        self._chain = _chain + (_prefix,)

    def label(self, name: str = "") -> str:
        return os.path.join(self.path, self.prefix + name) if name or self.prefix else self.path

    def _member(self, name: str) -> Optional[_Member]:
        m = self._index.resolve(self.prefix + name)
        if m is None and name in ROOT_FALLBACK:
            m = self._index.resolve(name)
        return m

    def _file_member(self, name: str) -> Optional[_Member]:
        """The member holding image `name`; None if absent, an error if not a regular file."""
        m = self._member(name)
        if m is not None and m.kind != "file":
            raise CheckpointError("cannot read image: not a regular file", file=self.label(name))
        return m

    def read(self, name: str) -> Optional[bytes]:
        m = self._file_member(name)
        return None if m is None else self._index.read(m)

    def size(self, name: str) -> Optional[int]:
        m = self._member(name)
        return m.size if m is not None and m.kind == "file" else None

    def names(self) -> List[Tuple[str, int]]:
        out = []
        n = len(self.prefix)
        for name, m in self._index.members.items():
            if name.startswith(self.prefix) and "/" not in name[n:] and name[n:]:
                r = self._index.resolve(name)
                if r is not None and r.kind == "file":
                    out.append((name[n:], r.size))
        return sorted(out)

    def open_raw(self, name: str) -> Optional[_MemberFile]:
        m = self._file_member(name)
        return None if m is None else self._index.open(m)

    def meta(self, name: str) -> Optional[bytes]:
        m = self._index.resolve(name)
        return self._index.read(m) if m is not None and m.kind == "file" else None

    def meta_sizes(self) -> Dict[str, int]:
        return {name: m.size for name, m in self._index.members.items()
                if "/" not in name and m.kind == "file"}

    def parent(self) -> Optional["ArchiveSource"]:
        name = self.prefix + PARENT_LINK
        m = self._index.members.get(name)
        if m is None:
            return None
        if m.kind == "link":
            name = m.target
            m = self._index.resolve(name)
            if m is None and not self._index.has_dir(name + "/"):
                return None
        prefix = name + "/"
        if prefix in self._chain:
            raise CheckpointError("the parent chain loops back to %s" % name,
                                  file=self.label(PARENT_LINK))
        if not self._index.has_dir(prefix):
            return None
        return ArchiveSource(self.path, self._index, prefix, self._chain)
