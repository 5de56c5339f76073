"""Tests of `x` (critcore.explore) on real checkpoints: golden outputs, dead and zombie tasks,
pre-4.2 pagemaps, legacy per-type file images, per-instance caches, and one-line errors."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, DATA_X, SHARED_CORPUS, SHARED_X, X_WHATS, expect_error, params, run_cli
from critcore import api
from critcore.errors import CritError
from critcore.explore import EXPLORERS, Checkpoint, CheckpointError, as_plain, render_text

# The bundled subset when it has x goldens, else the shared corpus (empty: nothing to run).
X_ROOT, X_CASES = (DATA, DATA_X) if DATA_X else (SHARED_CORPUS, SHARED_X)


def scenario(name):
    """A checkpoint directory with goldens, from tests/data or the shared corpus; else skip."""
    for root in (DATA, SHARED_CORPUS):
        if root is not None and (root / name / "pstree.img").is_file() \
                and (root / name / "golden" / "x-ps.txt").is_file():
            return root / name
    pytest.skip("checkpoint %s not available" % name)


def golden_x(d, what):
    return (d / "golden" / ("x-%s.txt" % what)).read_bytes()


def x(d, what):
    status, out, err = run_cli(["x", str(d), what])
    assert status == 0, err
    assert err == ""
    return out


def copy_checkpoint(d, tmp_path):
    dst = tmp_path / d.name
    shutil.copytree(str(d), str(dst))
    for p in dst.iterdir():  # corpus files are read-only; the tests rewrite some
        p.chmod(0o644 if p.is_file() else 0o755)
    return dst


def test_x_cases_present():
    if SHARED_CORPUS is None and not DATA_X:
        pytest.skip("no checkpoints with x goldens")
    assert X_CASES


# (a) byte-identical to crit's output (corrected as described in the corpus README)

@pytest.mark.parametrize("scen,what", params(X_CASES))
def test_golden(scen, what):
    d = X_ROOT / scen
    assert x(d, what) == golden_x(d, what)


@pytest.mark.parametrize("scen,what", params(X_CASES[:8]))
def test_model_is_plain_data(scen, what):
    """Models stay separate from rendering: JSON-ready, and rendering them gives the golden."""
    d = X_ROOT / scen
    model = EXPLORERS[what](Checkpoint(str(d)))
    json.dumps(as_plain(model))
    assert render_text(what, model).encode() == golden_x(d, what)


# (b) dead and zombie tasks have only a core image

def test_zombie_skipped_but_listed():
    d = scenario("zdtm-zombie00")
    cp = Checkpoint(str(d))
    dead = [cp.task_id(p, "pid") for p in cp.pstree() if cp.is_dead(cp.task_id(p, "pid"))]
    assert dead, "zombie00 should hold dead tasks"
    ps = x(d, "ps").decode()
    for pid in dead:
        assert any(line.split()[0] == str(pid) for line in ps.splitlines()[1:])
    for what in ("fds", "mems", "rss"):
        out = x(d, what)
        assert out == golden_x(d, what)
        task_lines = [l for l in out.decode().splitlines() if l and not l.startswith("\t")]
        assert not set(task_lines) & {str(p) for p in dead}


# (c) pagemaps written before CRIU 4.2 carry compat_nr_pages only

def test_rss_pre_42_pagemap(tmp_path):
    d = scenario("zdtm-zombie00")
    dst = copy_checkpoint(d, tmp_path)
    rewritten = 0
    for p in sorted(dst.glob("pagemap-*.img")):
        if not p.name[len("pagemap-"):-len(".img")].isdigit():
            continue  # pagemap-shmem-N.img is not a task's
        img = api.loads(p.read_bytes())
        for e in img["entries"][1:]:
            e["compat_nr_pages"] = e.pop("nr_pages")
        p.write_bytes(api.dumps(img))
        assert all("nr_pages" not in e for e in api.loads(p.read_bytes())["entries"][1:])
        rewritten += 1
    assert rewritten
    assert x(dst, "rss") == golden_x(d, "rss")


# legacy per-type images (reg-files.img, pipes.img, unixsk.img) instead of files.img

def test_legacy_file_images(tmp_path):
    d = scenario("02-python-multi")
    dst = copy_checkpoint(d, tmp_path)
    files = api.loads((dst / "files.img").read_bytes())["entries"]
    (dst / "files.img").unlink()
    for field, magic, name in (("reg", "REG_FILES", "reg-files.img"),
                               ("pipe", "PIPES", "pipes.img"), ("usk", "UNIXSK", "unixsk.img")):
        entries = [f[field] for f in files if field in f]
        assert entries, field
        (dst / name).write_bytes(api.dumps({"magic": magic, "entries": entries}))
    for what in ("fds", "mems", "rss"):
        assert x(dst, what) == golden_x(d, what)


def test_files_img_without_id_falls_back(tmp_path):
    """An id missing from files.img is looked up in the legacy image."""
    d = scenario("01-minimal-c-loop")
    dst = copy_checkpoint(d, tmp_path)
    img = api.loads((dst / "files.img").read_bytes())
    regs = [f for f in img["entries"] if "reg" in f]
    keep = [f for f in img["entries"] if "reg" not in f]
    (dst / "files.img").write_bytes(api.dumps({"magic": "FILES", "entries": keep}))
    (dst / "reg-files.img").write_bytes(
        api.dumps({"magic": "REG_FILES", "entries": [f["reg"] for f in regs]}))
    for what in ("fds", "mems", "rss"):
        assert x(dst, what) == golden_x(d, what)


# (d) every cache belongs to one Checkpoint

def test_instances_do_not_share_state():
    a, b = scenario("01-minimal-c-loop"), scenario("zdtm-zombie00")
    cpa, cpb = Checkpoint(str(a)), Checkpoint(str(b))
    names_a = {i: f["reg"]["name"] for i, f in cpa.files().items() if "reg" in f}
    names_b = {i: f["reg"]["name"] for i, f in cpb.files().items() if "reg" in f}
    # crit's module-level caches would give b the names of a's files with the same ids
    assert any(names_a[i] != names_b[i] for i in set(names_a) & set(names_b))
    assert cpa.files() is not cpb.files()
    for _ in range(2):  # alternate, in one process, through the CLI and the API
        for d, cp in ((a, cpa), (b, cpb)):
            for what in ("fds", "mems", "rss"):
                assert x(d, what) == golden_x(d, what)
                assert render_text(what, EXPLORERS[what](cp)).encode() == golden_x(d, what)


def test_mems_vma_numbers_restart_each_run():
    d = scenario("05a-sysv-ipc-utsns")
    want = golden_x(d, "mems")
    assert b"ips[1]" in want
    cp = Checkpoint(str(d))
    for _ in range(2):
        assert render_text("mems", EXPLORERS["mems"](cp)).encode() == want


def test_task_id_ns_fallback(tmp_path):
    cp = Checkpoint(str(scenario("01-minimal-c-loop")))
    assert cp.task_id({"pid": 5, "ns_pid": [9]}, "pid") == 5
    assert cp.task_id({"ns_pgid": [9, 1]}, "pgid") == 9
    with pytest.raises(CheckpointError):
        cp.task_id({}, "sid")


# (e) bad directories and images: exit 1, one stderr line naming the file, no traceback

@pytest.mark.parametrize("what", X_WHATS)
def test_error_not_a_directory(tmp_path, what):
    f = tmp_path / "plain-file"
    f.write_bytes(b"hello")
    expect_error(["x", str(f), what], str(f))
    expect_error(["x", str(tmp_path / "absent"), what], str(tmp_path / "absent"))


@pytest.mark.parametrize("what", X_WHATS)
def test_error_no_pstree(tmp_path, what):
    err = expect_error(["x", str(tmp_path), what], str(tmp_path))
    assert "pstree.img" in err


@pytest.mark.parametrize("what", X_WHATS)
def test_error_missing_core(tmp_path, what):
    d = scenario("01-minimal-c-loop")
    dst = copy_checkpoint(d, tmp_path)
    core = sorted(dst.glob("core-*.img"))[0]
    core.unlink()
    expect_error(["x", str(dst), what], core.name)


@pytest.mark.parametrize("what", X_WHATS)
def test_error_wrong_magic(tmp_path, what):
    d = scenario("01-minimal-c-loop")
    dst = copy_checkpoint(d, tmp_path)
    core = sorted(dst.glob("core-*.img"))[0]
    core.write_bytes((dst / "pstree.img").read_bytes())
    err = expect_error(["x", str(dst), what], core.name)
    assert "CORE" in err and "PSTREE" in err


@pytest.mark.parametrize("image", ["mm", "pagemap", "fs", "ids"])
def test_error_wrong_magic_per_task_image(tmp_path, image):
    d = scenario("01-minimal-c-loop")
    dst = copy_checkpoint(d, tmp_path)
    target = sorted(dst.glob("%s-*.img" % image))[0]
    target.write_bytes((dst / "pstree.img").read_bytes())
    what = {"mm": "mems", "pagemap": "rss", "fs": "fds", "ids": "fds"}[image]
    expect_error(["x", str(dst), what], target.name)


def test_error_garbage_image(tmp_path):
    d = scenario("01-minimal-c-loop")
    dst = copy_checkpoint(d, tmp_path)
    (dst / "pstree.img").write_bytes(b"\x00garbage, not an image")
    expect_error(["x", str(dst), "ps"], "pstree.img")


def test_errors_are_crit_errors(tmp_path):
    with pytest.raises(CritError):
        Checkpoint(str(tmp_path))
