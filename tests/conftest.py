"""Shared test helpers: where the checkpoint corpora live, which images they hold,
and run_cli(), which runs critcore.cli.main() in-process the way corpus-check does."""
from __future__ import annotations

import contextlib
import io
import sys
import traceback
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORMATS = REPO.parent / "shared" / "criu-formats"
DATA = Path(__file__).resolve().parent / "data"
_shared = REPO.parent / "shared" / "corpus"
SHARED_CORPUS = _shared if _shared.is_dir() else None
CORPUS_CHECK = REPO.parent / "shared" / "tools" / "corpus-check"

X_WHATS = ("ps", "fds", "mems", "rss")


def run_cli(argv, stdin_bytes=None):
    """Run critcore.cli.main(argv) in-process; return (status, stdout bytes, stderr text).

    stdout is a UTF-8 TextIOWrapper (newline="") over a BytesIO, so text and
    sys.stdout.buffer writes both land in the returned bytes. With stdin_bytes,
    sys.stdin is a TextIOWrapper over those bytes (sys.stdin.buffer works too).
    An uncaught exception gives status "crashed" and "UNCAUGHT <traceback>" on stderr.
    """
    from critcore.cli import main

    out_bytes = io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", newline="")
    err = io.StringIO()
    status = None
    saved_stdin = sys.stdin
    if stdin_bytes is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin_bytes), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(argv))
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:
                err.write("UNCAUGHT " + traceback.format_exc())
                status = "crashed"
            finally:
                out.flush()
    finally:
        sys.stdin = saved_stdin
    return (0 if status is None else status), out_bytes.getvalue(), err.getvalue()


def image_base(name):
    """Golden base name of an image file: core-1.img -> core-1, stats-dump -> stats-dump."""
    return name[:-4] if name.endswith(".img") else name


def _scenarios(root):
    if root is None or not Path(root).is_dir():
        return []
    return sorted(d for d in Path(root).iterdir() if (d / "golden").is_dir())


def golden_images(root):
    """(scenario, image name) for every file in root/SCENARIO with a golden/BASE.json."""
    pairs = []
    for d in _scenarios(root):
        for p in sorted(d.iterdir()):
            if p.is_file() and (d / "golden" / (image_base(p.name) + ".json")).is_file():
                pairs.append((d.name, p.name))
    return pairs


def raw_images(root):
    """(scenario, image name) for files without a golden that decode must reject:
    *.img files and empty files (the same rule as corpus-check)."""
    pairs = []
    for d in _scenarios(root):
        for p in sorted(d.iterdir()):
            if not p.is_file() or (d / "golden" / (image_base(p.name) + ".json")).exists():
                continue
            if p.name.endswith(".img") or p.stat().st_size == 0:
                pairs.append((d.name, p.name))
    return pairs


def x_goldens(root):
    """(scenario, what) for every golden/x-WHAT.txt next to a pstree.img."""
    pairs = []
    for d in _scenarios(root):
        if (d / "pstree.img").is_file():
            for what in X_WHATS:
                if (d / "golden" / ("x-%s.txt" % what)).is_file():
                    pairs.append((d.name, what))
    return pairs


def params(pairs):
    """pytest.param list with readable ids ("scenario/image")."""
    return [pytest.param(*p, id="/".join(p)) for p in pairs]


# Parametrisation lists: the bundled subset, and the full shared corpus (empty when absent).
DATA_IMAGES = golden_images(DATA)
DATA_RAW = raw_images(DATA)
DATA_X = x_goldens(DATA)
SHARED_IMAGES = golden_images(SHARED_CORPUS)
SHARED_RAW = raw_images(SHARED_CORPUS)
SHARED_X = x_goldens(SHARED_CORPUS)


@pytest.fixture
def data_dir():
    return DATA


@pytest.fixture
def shared_corpus():
    if SHARED_CORPUS is None:
        pytest.skip("../shared/corpus not present")
    return SHARED_CORPUS


def expect_error(argv, names):
    """The CLI fails cleanly: status 1, nothing on stdout, one stderr line naming `names`."""
    status, out, err = run_cli(argv)
    assert status == 1, err
    assert out == b""
    assert "Traceback" not in err and "UNCAUGHT" not in err and "internal error" not in err, err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert names in err, err
    return err


def formats(version):
    """../shared/criu-formats/VERSION (images/*.proto and magic.h), or skip the test."""
    src = FORMATS / version
    if not (src / "images").is_dir():
        pytest.skip("%s is absent" % src)
    return src
