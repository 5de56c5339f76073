"""Checkpoint archives as Podman, CRI-O and the kubelet write them, built here from real
checkpoints: every DIR command reads them in place; unsafe member names are refused."""
from __future__ import annotations

import io
import json
import os
import tarfile

import pytest

from conftest import DATA, run_cli
from critcore.explore import Checkpoint, CheckpointError
from test_memory import CMDLINE, CMDLINE_PID, copy_dir, expected_pages, parent_entry, \
    rewrite, shared

CONFIG = {"id": "6924be1bd90c23f10e2667102b0ee0f74f09bba78b6661871e733cb3b1737821",
          "name": "looper", "rootfsImage": "docker.io/library/busybox@sha256:abc",
          "rootfsImageRef": "a8758716bb6a",
          "rootfsImageName": "docker.io/library/busybox:latest",
          "runtime": "runc", "createdTime": "2024-01-27T14:45:26.083444055Z",
          "checkpointedTime": "2024-01-28T00:10:45.673538606+05:30",
          "restoredTime": "0001-01-01T00:00:00Z", "restored": False}
SPEC = {"annotations": {"io.container.manager": "libpod"}}
MODES = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}


def add_bytes(tf, name, data, **info):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    for k, v in info.items():
        setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data))


def build_archive(src, path, mode="w:gz", meta=True, extra=()):
    """A Podman-style archive of checkpoint directory `src`: images under checkpoint/,
    stats-dump, config.dump and spec.dump at the root."""
    with tarfile.open(str(path), mode) as tf:
        for p in sorted(src.iterdir()):
            if p.is_file() and p.name != "stats-dump":
                tf.add(str(p), "checkpoint/" + p.name)
            elif p.is_dir() and p.name == "parent":
                tf.add(str(p), "checkpoint/parent")
        if (src / "stats-dump").exists():
            tf.add(str(src / "stats-dump"), "stats-dump")
        if meta:
            add_bytes(tf, "config.dump", json.dumps(CONFIG).encode())
            add_bytes(tf, "spec.dump", json.dumps(SPEC).encode())
            add_bytes(tf, "rootfs-diff.tar", b"\0" * 10240)
        for name, data, info in extra:
            add_bytes(tf, name, data, **info)
    return path


def out_of(argv):
    status, out, err = run_cli(argv)
    assert status == 0, err
    assert err == ""
    return out


def same_json(a, b, *drop):
    a, b = json.loads(a), json.loads(b)
    for k in drop:
        a.pop(k, None)
        b.pop(k, None)
    return a == b


@pytest.fixture
def no_extraction(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the archive was extracted")
    monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
    monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)


@pytest.mark.parametrize("ext", sorted(MODES))
def test_every_command_reads_the_archive(tmp_path, ext, no_extraction):
    arc = build_archive(CMDLINE, tmp_path / ("ckpt." + ext), MODES[ext])
    before = sorted(os.listdir(str(tmp_path)))
    d, a = str(CMDLINE), str(arc)
    for what in ("ps", "fds", "mems", "rss", "sk"):
        assert out_of(["x", a, what]) == out_of(["x", d, what])
    assert out_of(["stats", a]) == out_of(["stats", d])
    assert out_of(["mem", a, "71"]) == out_of(["mem", d, "71"])
    assert out_of(["mem", a, "71", "--vma", "22"]) == out_of(["mem", d, "71", "--vma", "22"])
    assert out_of(["mem", a, "--search", "arg3"]) == out_of(["mem", d, "--search", "arg3"])
    assert same_json(out_of(["inspect", a, "--json", "--env"]),
                     out_of(["inspect", d, "--json", "--env"]),
                     "path", "kind", "container", "images_bytes")
    assert sorted(os.listdir(str(tmp_path))) == before  # nothing extracted next to it


def test_container_metadata(tmp_path):
    arc = build_archive(CMDLINE, tmp_path / "ckpt.tar.gz")
    text = out_of(["inspect", str(arc)]).decode()
    assert text.startswith("%s (archive)\n├── Container\n│   ├── Name: looper\n" % arc)
    for line in ("Image: docker.io/library/busybox:latest", "Runtime: runc", "Engine: Podman",
                 "Created: 2024-01-27T14:45:26.083444055Z", "Root FS diff size: 10 KiB",
                 "Command line: ./cmdlinenv00"):
        assert line in text
    assert "Restored" not in text and "0001-01-01" not in text
    c = json.loads(out_of(["inspect", str(arc), "--json"]))["container"]
    assert c["id"] == CONFIG["id"] and c["image_ref"] == "a8758716bb6a"
    assert c["checkpointed"] == CONFIG["checkpointedTime"]


def test_crio_and_containerd_metadata(tmp_path):
    crio = {"annotations": {"io.container.manager": "cri-o",
                            "io.kubernetes.cri-o.Metadata": json.dumps({"name": "web"}),
                            "io.kubernetes.pod.namespace": "default",
                            "io.kubernetes.pod.name": "web-7d4b"}}
    arc = tmp_path / "crio.tar"
    build_archive(CMDLINE, arc, "w", meta=False,
                  extra=[("spec.dump", json.dumps(crio).encode(), {}),
                         ("config.dump", b"{not json", {})])
    c = json.loads(out_of(["inspect", str(arc), "--json"]))["container"]
    assert (c["name"], c["engine"], c["namespace"], c["pod"]) == \
        ("web", "CRI-O", "default", "web-7d4b")
    containerd = {"annotations": {"io.kubernetes.cri.container-name": "db",
                                  "io.kubernetes.cri.sandbox-name": "db-0"}}
    arc = tmp_path / "containerd.tar"
    build_archive(CMDLINE, arc, "w", meta=False,
                  extra=[("spec.dump", json.dumps(containerd).encode(), {})])
    c = json.loads(out_of(["inspect", str(arc), "--json"]))["container"]
    assert (c["name"], c["engine"], c["pod"]) == ("db", "containerd", "db-0")


def test_raw_output_from_archive(tmp_path):
    arc = build_archive(CMDLINE, tmp_path / "ckpt.tar.xz", "w:xz")
    out = tmp_path / "shm.bin"
    assert out_of(["mem", str(arc), "71", "--vma", "13", "-o", str(out)]) == b""
    assert out.read_bytes() == expected_pages(CMDLINE, "pagemap-shmem-1489.img")[0]


def test_parent_chain_inside_an_archive(tmp_path):
    child = copy_dir(CMDLINE, tmp_path / "child")
    rewrite(child, "pagemap-71.img", lambda i, e: parent_entry(e) if i % 2 else e)
    copy_dir(CMDLINE, child / "parent")
    arc = build_archive(child, tmp_path / "chain.tar.gz", meta=False)
    mem = Checkpoint(str(arc)).memory()
    want = expected_pages(CMDLINE, "pagemap-71.img")
    for v in mem.vmas(CMDLINE_PID):
        if v.shmem is None:
            for a, data in mem.read(CMDLINE_PID, v.start, v.size).pieces:
                assert data == b"".join(want[a + k] for k in range(0, len(data), 4096))
    assert sum(mem.pages_in_image(CMDLINE_PID, v) for v in mem.vmas(CMDLINE_PID)) == \
        len(want) + 1


def test_bigmem_archive_search(tmp_path):
    d = shared("08-bigmem-many-vmas")
    arc = build_archive(d, tmp_path / "big.tar.gz", meta=False)
    assert out_of(["mem", str(arc), "--search", "bigmem"]) == \
        out_of(["mem", str(d), "--search", "bigmem"])


def test_images_at_the_archive_root(tmp_path):
    arc = tmp_path / "flat.tar"
    with tarfile.open(str(arc), "w") as tf:
        for p in sorted(CMDLINE.iterdir()):
            if p.is_file():
                tf.add(str(p), p.name)
    assert out_of(["x", str(arc), "ps"]) == out_of(["x", str(CMDLINE), "ps"])


def test_extracted_archive_directory(tmp_path):
    arc = build_archive(CMDLINE, tmp_path / "ckpt.tar")
    root = tmp_path / "extracted"
    with tarfile.open(str(arc)) as tf:
        tf.extractall(str(root))
    assert out_of(["stats", str(root)]) == out_of(["stats", str(CMDLINE)])
    assert json.loads(out_of(["inspect", str(root), "--json"]))["container"]["name"] == "looper"


# -- path tricks and broken archives ----------------------------------------------------------

def _sym(target):
    return {"type": tarfile.SYMTYPE, "linkname": target}


@pytest.mark.parametrize("name,data,info,why", [
    ("../evil.img", b"x", {}, "leaves the archive"),
    ("/etc/evil.img", b"x", {}, "absolute path"),
    ("checkpoint/../../evil.img", b"x", {}, "leaves the archive"),
    ("checkpoint/evil.img", b"", _sym("/etc/passwd"), "absolute path"),
    ("checkpoint/evil.img", b"", _sym("../../etc/passwd"), "leaves the archive"),
    ("checkpoint/evil.img", b"", {"type": tarfile.LNKTYPE, "linkname": "../outside"},
     "leaves the archive"),
])
def test_path_tricks_are_refused(tmp_path, name, data, info, why):
    arc = build_archive(CMDLINE, tmp_path / "bad.tar", "w", extra=[(name, data, info)])
    for argv in (["x", str(arc), "ps"], ["stats", str(arc)], ["inspect", str(arc)],
                 ["mem", str(arc), "71"]):
        status, out, err = run_cli(argv)
        assert status == 1 and out == b""
        assert err.count("\n") == 1 and "unsafe member" in err and why in err, err
    with pytest.raises(CheckpointError):
        Checkpoint(str(arc))


def test_links_inside_the_archive_are_followed(tmp_path):
    arc = tmp_path / "links.tar"
    with tarfile.open(str(arc), "w") as tf:
        for p in sorted(CMDLINE.iterdir()):
            if p.is_file() and p.name != "pstree.img":
                tf.add(str(p), "checkpoint/" + p.name)
        tf.add(str(CMDLINE / "pstree.img"), "data/pstree.bin")
        add_bytes(tf, "checkpoint/pstree.img", b"", **_sym("../data/pstree.bin"))
    assert out_of(["x", str(arc), "ps"]) == out_of(["x", str(CMDLINE), "ps"])


def test_broken_archives(tmp_path):
    arc = build_archive(CMDLINE, tmp_path / "ckpt.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(arc.read_bytes()[:len(arc.read_bytes()) // 2])
    status, _, err = run_cli(["x", str(cut), "ps"])
    assert status == 1 and err.count("\n") == 1 and str(cut) in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an archive at all")
    status, _, err = run_cli(["x", str(junk), "ps"])
    assert status == 1 and "not a directory or a checkpoint archive" in err
    empty = tmp_path / "empty.tar"
    with tarfile.open(str(empty), "w"):
        pass
    status, _, err = run_cli(["x", str(empty), "ps"])
    assert status == 1 and "not a checkpoint archive (no pstree.img)" in err
    status, _, err = run_cli(["x", str(tmp_path / "missing.tar.gz"), "ps"])
    assert status == 1 and err == "%s: no such file\n" % (tmp_path / "missing.tar.gz")


def test_data_subset_stays_small():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 3 << 20
