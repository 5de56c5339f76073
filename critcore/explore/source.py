"""Where a checkpoint's files come from: a directory, or a container checkpoint archive.
A Source answers read/exists/size by image name; archives live in archive.py (tarfile is slow)."""
from __future__ import annotations

import os
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, List, Optional, Tuple

from .checkpoint import CheckpointError

# Podman, CRI-O and the kubelet keep CRIU's images in checkpoint/ and put their own metadata
# (config.dump, spec.dump) and CRIU's statistics beside it, at the archive root.
IMAGES_DIR = "checkpoint"
ROOT_FALLBACK = ("stats-dump", "stats-restore")
PARENT_LINK = "parent"  # CRIU's CR_PARENT_LINK: the previous (pre-)dump of the chain
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class Source:
    """The files of one checkpoint, by image name ("core-7.img", "stats-dump").

    Subclasses set `path` (what the user named), `kind` ("directory" or "archive") and
    implement label/read/size/names/open_raw; `meta(name)` reads the container engine's
    files (config.dump, spec.dump) and is None where there are none.

    >>> import os, critcore
    >>> src = open_source(os.path.join(os.path.dirname(critcore.__file__), os.pardir, "tests",
    ...                                "data", "01-minimal-c-loop"))
    >>> src.kind, src.exists("pstree.img"), src.size("pstree.img"), src.read("nothing.img")
    ('directory', True, 26, None)
    """

    kind = "directory"
    path = ""

    def label(self, name: str = "") -> str:
        """How errors name image `name` (or the checkpoint itself, for "")."""
        raise NotImplementedError

    def read(self, name: str) -> Optional[bytes]:
        """The whole file, None when absent; CheckpointError when it cannot be read."""
        raise NotImplementedError

    def size(self, name: str) -> Optional[int]:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        return self.size(name) is not None

    def names(self) -> List[Tuple[str, int]]:
        """(name, size) of every regular file among the images, sorted by name."""
        raise NotImplementedError

    def open_raw(self, name: str):
        """A RawFile over a raw image (pages-N.img) for random reads, None when absent."""
        raise NotImplementedError

    def meta(self, name: str) -> Optional[bytes]:
        return None

    def meta_sizes(self) -> Dict[str, int]:
        """Sizes of the engine's files beside the images (rootfs-diff.tar...), {} for none."""
        return {}

    def parent(self) -> Optional["Source"]:
        """The `parent` checkpoint of a pre-dump chain, None when there is none."""
        return None

    def close(self) -> None:
        pass


class RawFile:
    """Random reads from one file on disk; the file stays open until close().

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as fh:
    ...     _ = fh.write(b"0123456789"); fh.flush()
    ...     raw = RawFile(fh.name, fh.name)
    ...     raw.pread(3, 4), raw.pread(8, 4), raw.size
    (b'3456', b'89', 10)
    """

    def __init__(self, path: str, label: str):
        self.label = label
        try:
            self._fd = os.open(path, os.O_RDONLY)
            self.size = os.fstat(self._fd).st_size
        except OSError as e:
            raise CheckpointError("cannot read image: %s" % (e.strerror or e), file=label) from None

    def pread(self, offset: int, n: int) -> bytes:
        """Up to n bytes from offset: fewer only at the end of the file."""
        parts = []
        while n > 0:
            try:
                got = os.pread(self._fd, min(n, 1 << 26), offset)
            except OSError as e:
                raise CheckpointError("cannot read image: %s" % (e.strerror or e), file=self.label,
                                  offset=offset) from None
            if not got:
                break
            parts.append(got)
            offset += len(got)
            n -= len(got)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self):
        self.close()


class DirSource(Source):
    """A checkpoint directory, as `criu dump -D DIR` leaves it; also the extracted form of
    an archive (images in DIR/checkpoint, config.dump and spec.dump in DIR).

    >>> DirSource("/nonexistent")
    Traceback (most recent call last):
    ...
    critcore.explore.checkpoint.CheckpointError: /nonexistent: no such directory
    """

    kind = "directory"

    def __init__(self, path: str, _chain: Tuple[str, ...] = ()):
        if not os.path.exists(path):
            raise CheckpointError("no such directory", file=path)
        if not os.path.isdir(path):
            raise CheckpointError("not a directory (a checkpoint directory was expected)",
                                  file=path)
        self.path = path
        self.images = path
        sub = os.path.join(path, IMAGES_DIR)
        if not os.path.exists(os.path.join(path, "pstree.img")) \
                and os.path.isfile(os.path.join(sub, "pstree.img")):
            self.images = sub
        self._chain = _chain + (os.path.realpath(self.images),)

    def label(self, name: str = "") -> str:
        return os.path.join(self.images, name) if name else self.path

    def _where(self, name: str) -> str:
        where = os.path.join(self.images, name)
        if name in ROOT_FALLBACK and self.images != self.path and not os.path.exists(where):
            return os.path.join(self.path, name)
        return where

    def read(self, name: str) -> Optional[bytes]:
        where = self._where(name)
        try:
            with open(where, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CheckpointError("cannot read image: %s" % (e.strerror or e), file=where) from None

    def size(self, name: str) -> Optional[int]:
        try:
            st = os.stat(self._where(name))
        except OSError:
            return None
        return st.st_size

    def names(self) -> List[Tuple[str, int]]:
        out = []
        with os.scandir(self.images) as it:
            for e in it:
                if e.is_file():
                    out.append((e.name, e.stat().st_size))
        return sorted(out)

    def open_raw(self, name: str) -> Optional[RawFile]:
        where = self._where(name)
        if not os.path.exists(where):
            return None
        return RawFile(where, where)

    def meta(self, name: str) -> Optional[bytes]:
        if self.images == self.path:
            return None
        try:
            with open(os.path.join(self.path, name), "rb") as fh:
                return fh.read()
        except OSError:
            return None

    def meta_sizes(self) -> Dict[str, int]:
        if self.images == self.path:
            return {}
        out = {}
        for e in os.scandir(self.path):
            if e.is_file():
                out[e.name] = e.stat().st_size
        return out

    def parent(self) -> Optional["DirSource"]:
        where = os.path.join(self.images, PARENT_LINK)
        if not os.path.isdir(where):
            return None
        if os.path.realpath(where) in self._chain:  # `parent -> .` must not loop forever
            raise CheckpointError("the parent chain loops back to %s" % os.path.realpath(where),
                              file=where)
        return DirSource(where, self._chain)


def is_archive_name(path: str) -> bool:
    """Whether `path` is named like a checkpoint archive.

    >>> is_archive_name("ckpt.tar.gz"), is_archive_name("ckpt.TAR"), is_archive_name("x.img")
    (True, True, False)
    """
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def open_source(path) -> Source:
    """A Source for `path`: a directory, or a file holding a tar archive (any compression
    tarfile reads: none, gzip, bzip2, xz). A Source is returned as it is."""
    if isinstance(path, Source):
        return path
    path = os.fspath(path)
    if os.path.isfile(path):
        from .archive import ArchiveSource, looks_like_tar
        if is_archive_name(path) or looks_like_tar(path):
            return ArchiveSource(path)
        raise CheckpointError("not a directory or a checkpoint archive (.tar, .tar.gz, "
                              ".tar.bz2, .tar.xz)", file=path)
    if not os.path.exists(path) and is_archive_name(path):
        raise CheckpointError("no such file", file=path)
    return DirSource(path)
