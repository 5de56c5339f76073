"""The page reader (critcore.explore.memory) on real checkpoints: bytes checked against offsets
computed here from CRIU's rules, pre-dump parent chains built over a copy, shmem, page sizes."""
from __future__ import annotations

import os
import shutil

import pytest

from conftest import DATA, SHARED_CORPUS
from critcore import api
from critcore.explore import Checkpoint, CheckpointError
from critcore.explore.memory import (LAZY, NO_PARENT, NOT_IN_PARENT, MissingPagesError,
                                     PageMap)

PAGE = 4096
CMDLINE = DATA / "zdtm-cmdlinenv00"
CMDLINE_PID = 71


def shared(name):
    if SHARED_CORPUS is None or not (SHARED_CORPUS / name).is_dir():
        pytest.skip("../shared/corpus/%s not present" % name)
    return SHARED_CORPUS / name


def load(path):
    with open(str(path), "rb") as fh:
        return api.load(fh)["entries"]


def rule_flags(e):
    """CRIU's init_compat_pagemap_entry(), restated here on purpose (independent of the
    library): in_parent means PE_PARENT; no flags means PE_PRESENT."""
    if e.get("in_parent"):
        return (e.get("flags") or 0) | 1
    return 4 if e.get("flags") is None else e["flags"]


def expected_pages(d, image, page_size=PAGE):
    """{page address: bytes} of the PE_PRESENT pages of one pagemap image: the offset into
    pages-<pages_id>.img advances over PE_PRESENT entries only."""
    entries = load(d / image)
    data = (d / ("pages-%d.img" % entries[0]["pages_id"])).read_bytes()
    out, off = {}, 0
    for e in entries[1:]:
        nr = e["nr_pages"] if "nr_pages" in e else e["compat_nr_pages"]
        if rule_flags(e) & 4:
            for i in range(nr):
                out[e["vaddr"] + i * page_size] = data[off + i * page_size:
                                                       off + (i + 1) * page_size]
            off += nr * page_size
    return out


def assert_vma_bytes(mem, pid, vma, pages, page_size=PAGE):
    """Every page of the VMA: the bytes the rules give, or a hole where they give none."""
    r = mem.read(pid, vma.start, vma.size)
    got = dict(r.pieces)
    held = {}
    for a, data in r.pieces:
        for p in range(0, len(data), page_size):
            held[a + p] = data[p:p + page_size]
    for addr in range(vma.start, vma.end, page_size):
        want = pages.get(addr)
        if want is None:
            assert addr not in held, "%#x should be a hole" % addr
            assert any(h.start <= addr < h.end for h in r.holes), "%#x unreported" % addr
        else:
            assert held.get(addr) == want, "%#x differs" % addr
    assert got or r.holes


# -- offsets, against an independent computation --------------------------------------------

def test_cmdlinenv00_every_private_vma_matches_the_rules():
    cp = Checkpoint(str(CMDLINE))
    mem = cp.memory()
    pages = expected_pages(CMDLINE, "pagemap-%d.img" % CMDLINE_PID)
    vmas = [v for v in mem.vmas(CMDLINE_PID) if v.shmem is None]
    assert len(vmas) == 23
    for v in vmas:
        assert_vma_bytes(mem, CMDLINE_PID, v, pages)
    # PE_LAZY | PE_PRESENT entries are in the image like any present one
    assert any(e.get("flags") == 6 for e in load(CMDLINE / "pagemap-71.img")[1:])


def test_cmdlinenv00_shared_memfd_mapping_reads_the_shmem_image():
    mem = Checkpoint(str(CMDLINE)).memory()
    vma = [v for v in mem.vmas(CMDLINE_PID) if v.kind == "shared"][0]
    assert vma.name == "memfd:/dev/zero" and vma.shmem == "pagemap-shmem-1489.img"
    # the shmem pagemap's addresses are offsets in the object, mapped from the VMA's pgoff
    want = expected_pages(CMDLINE, "pagemap-shmem-1489.img")[vma.pgoff]
    assert mem.read_bytes(CMDLINE_PID, vma.start, PAGE) == want
    assert mem.pages_in_image(CMDLINE_PID, vma) == 1


def test_bigmem_20mb_2122_vmas_all_match():
    d = shared("08-bigmem-many-vmas")
    cp = Checkpoint(str(d))
    mem = cp.memory()
    (pid,) = cp.live_pids()
    vmas = mem.vmas(pid)
    assert len(vmas) == 2122
    pages = expected_pages(d, "pagemap-%d.img" % pid)
    size = (d / "pages-1.img").stat().st_size
    assert size == len(pages) * PAGE and size > 19 * 10**6  # "20 MB"
    assert sum(mem.pages_in_image(pid, v) for v in vmas) * PAGE == size
    for v in vmas:
        assert_vma_bytes(mem, pid, v, pages)


def test_python_multi_every_task_matches():
    d = shared("02-python-multi")
    cp = Checkpoint(str(d))
    mem = cp.memory()
    for pid in cp.live_pids():
        pages = expected_pages(d, "pagemap-%d.img" % pid)
        for v in mem.vmas(pid):
            if v.shmem is None:
                assert_vma_bytes(mem, pid, v, pages)
            elif v.kind == "shared":
                want = expected_pages(d, v.shmem)
                r = mem.read(pid, v.start, v.size)
                for a, data in r.pieces:
                    assert data == b"".join(want[a - v.start + v.pgoff + i]
                                            for i in range(0, len(data), PAGE))


def test_sysv_shm_mapping():
    d = shared("05a-sysv-ipc-utsns")
    cp = Checkpoint(str(d))
    mem = cp.memory()
    for pid in cp.live_pids():
        for v in mem.vmas(pid):
            if v.name.startswith("sysv-shm"):
                want = expected_pages(d, v.shmem)
                r = mem.read(pid, v.start, v.size)
                assert r.pieces, v
                for a, data in r.pieces:
                    assert data == want[a - v.start + v.pgoff]
                assert all(h.reason == "not dumped" for h in r.holes)


# -- holes are reported, never filled in ------------------------------------------------------

def test_holes_are_reported_with_reasons():
    mem = Checkpoint(str(CMDLINE)).memory()
    vmas = mem.vmas(CMDLINE_PID)
    heap = [v for v in vmas if v.kind == "heap"][0]
    r = mem.read(CMDLINE_PID, heap.start, heap.size)
    assert r.holes and {h.reason for h in r.holes} == {"not dumped"}
    with pytest.raises(MissingPagesError) as ei:
        r.data()
    assert "%#x" % r.holes[0].start in str(ei.value)
    with pytest.raises(MissingPagesError):
        mem.read_bytes(CMDLINE_PID, heap.start, heap.size)
    assert len(r.zero_filled()) == heap.size
    libc = [v for v in vmas if v.name.endswith("libc.so.6")][0]
    assert mem.read(CMDLINE_PID, libc.start, PAGE).holes[0].reason == "in the mapped file"
    gap = vmas[-2].end  # between the stack and the vsyscall page
    assert mem.read(CMDLINE_PID, gap, 16).holes[0].reason == "not mapped"


def test_page_size_option():
    # The corpus was dumped with 4 KiB pages. Read with 8 KiB pages, every entry covers
    # twice the addresses: a one-entry pagemap reads fine, and the task's pagemap has
    # entries that now overlap, which is reported, not papered over.
    mem = Checkpoint(str(CMDLINE)).memory(8192)
    assert mem.page_size == 8192
    pm = PageMap(mem.cp, "pagemap-shmem-1489.img", 8192)
    assert pm.runs == [(0, 8192, 4, 0)]
    with pytest.raises(CheckpointError, match="overlap") as ei:
        mem.read(CMDLINE_PID, mem.cp.mm(CMDLINE_PID)["mm_arg_start"], 8)
    assert ei.value.file.endswith("pagemap-71.img") and ei.value.path.startswith("entries[")
    with pytest.raises(CheckpointError):
        Checkpoint(str(CMDLINE)).memory(3000)


# -- pre-dump parent chains -------------------------------------------------------------------

def copy_dir(src, dst):
    shutil.copytree(str(src), str(dst), ignore=shutil.ignore_patterns("golden"))
    for p in dst.iterdir():
        p.chmod(0o644)
    return dst


def rewrite(d, image, choose, page_size=PAGE):
    """Re-encode pagemap `image` of checkpoint copy `d`: choose(i, entry) returns the
    entry's new fields (flags, in_parent, compat form...) and whether its pages stay in
    this image; the pages file is rebuilt to hold exactly the PE_PRESENT pages, in order."""
    entries = load(d / image)
    old = expected_pages(d, image, page_size)
    out, data = [entries[0]], []
    for i, e in enumerate(entries[1:]):
        new = choose(i, dict(e))
        out.append(new)
        if rule_flags(new) & 4:
            nr = new["nr_pages"] if "nr_pages" in new else new["compat_nr_pages"]
            data.extend(old[e["vaddr"] + k * page_size] for k in range(nr))
    (d / image).write_bytes(api.dumps({"magic": "PAGEMAP", "entries": out}))
    (d / ("pages-%d.img" % entries[0]["pages_id"])).write_bytes(b"".join(data))
    return out


def parent_entry(e, legacy=False):
    if legacy:  # pre-flags images: in_parent, and only compat_nr_pages
        e.pop("flags", None)
        e["compat_nr_pages"] = e.pop("nr_pages")
        e["in_parent"] = True
    else:
        e["flags"] = 1
    return e


@pytest.fixture
def chain(tmp_path):
    """gp <- p <- child: three copies of zdtm-cmdlinenv00. p keeps every other entry and
    refers the rest to gp; child refers two thirds to p (half of those in the legacy
    in_parent form, without flags) and makes one entry lazy, and its shmem to p."""
    gp = copy_dir(CMDLINE, tmp_path / "gp")
    p = copy_dir(CMDLINE, tmp_path / "p")
    child = copy_dir(CMDLINE, tmp_path / "child")
    rewrite(p, "pagemap-71.img", lambda i, e: parent_entry(e) if i % 2 else e)
    os.symlink("../gp", str(p / "parent"))

    def child_entry(i, e):
        if i == 7:
            e["flags"] = 2  # PE_LAZY only: for the lazy-pages daemon, not in this image
            return e
        if i % 3 == 0:
            e.pop("flags")  # no flags: present
            return e
        return parent_entry(e, legacy=i % 3 == 1)
    rewrite(child, "pagemap-71.img", child_entry)
    rewrite(child, "pagemap-shmem-1489.img", lambda i, e: parent_entry(e))
    os.symlink("../p", str(child / "parent"))
    return gp, p, child


def test_parent_chain_reads_through_every_level(chain):
    gp, p, child = chain
    original = expected_pages(CMDLINE, "pagemap-71.img")
    entries = load(child / "pagemap-71.img")[1:]
    lazy = entries[7]
    assert "nr_pages" not in entries[1] and entries[1]["in_parent"]  # the legacy form is there
    assert not any(e.get("flags") == 1 for e in load(p / "pagemap-71.img")[1:][0::2])
    mem = Checkpoint(str(child)).memory()
    for v in mem.vmas(CMDLINE_PID):
        if v.shmem is not None:
            continue
        r = mem.read(CMDLINE_PID, v.start, v.size)
        for a, data in r.pieces:
            for k in range(0, len(data), PAGE):
                assert data[k:k + PAGE] == original[a + k]
        for h in r.holes:
            if h.reason == LAZY:
                assert (h.start, h.end) == (lazy["vaddr"], lazy["vaddr"] + PAGE * lazy["nr_pages"])
            else:
                assert all(a not in original for a in range(h.start, h.end, PAGE))
    held = sum(mem.pages_in_image(CMDLINE_PID, v) for v in mem.vmas(CMDLINE_PID))
    assert held == len(original) + 1 - lazy["nr_pages"]  # + the shmem page, - the lazy ones
    vma = [v for v in mem.vmas(CMDLINE_PID) if v.kind == "shared"][0]
    assert mem.read_bytes(CMDLINE_PID, vma.start, PAGE) == \
        expected_pages(CMDLINE, "pagemap-shmem-1489.img")[0]
    # the child's own pages file holds only its PE_PRESENT entries
    assert (child / "pages-2.img").stat().st_size == PAGE * sum(
        e["nr_pages"] for e in entries if rule_flags(e) & 4)


def test_parent_chain_missing_parent_and_missing_in_parent(chain):
    gp, p, child = chain
    heap = [v for v in Checkpoint(str(child)).memory().vmas(CMDLINE_PID) if v.kind == "heap"][0]
    # an extra PE_PARENT entry over heap pages nobody dumped: the parent lacks them
    entries = load(child / "pagemap-71.img")
    covered = {e["vaddr"] for e in entries[1:]}
    free = [a for a in range(heap.start, heap.end, PAGE) if a not in covered
            and a + PAGE not in covered and a - PAGE not in covered][0]
    entries.append({"vaddr": free, "compat_nr_pages": 0, "flags": 1, "nr_pages": 1})
    entries[1:] = sorted(entries[1:], key=lambda e: e["vaddr"])
    (child / "pagemap-71.img").write_bytes(api.dumps({"magic": "PAGEMAP", "entries": entries}))
    mem = Checkpoint(str(child)).memory()
    assert mem.read(CMDLINE_PID, free, PAGE).holes[0].reason == NOT_IN_PARENT
    os.unlink(str(child / "parent"))
    mem = Checkpoint(str(child)).memory()
    reasons = {h.reason for v in mem.vmas(CMDLINE_PID)
               for h in mem.read(CMDLINE_PID, v.start, v.size).holes}
    assert NO_PARENT in reasons


def test_parent_chain_loop_is_an_error(tmp_path):
    d = copy_dir(CMDLINE, tmp_path / "loop")
    rewrite(d, "pagemap-71.img", lambda i, e: parent_entry(e))
    os.symlink(".", str(d / "parent"))
    mem = Checkpoint(str(d)).memory()
    with pytest.raises(CheckpointError, match="loops"):
        mem.read(CMDLINE_PID, mem.cp.mm(CMDLINE_PID)["mm_arg_start"], 8)


def test_truncated_pages_image_is_an_error(tmp_path):
    d = copy_dir(CMDLINE, tmp_path / "short")
    pages = d / "pages-2.img"
    pages.write_bytes(pages.read_bytes()[:PAGE * 3])
    mem = Checkpoint(str(d)).memory()
    stack = [v for v in mem.vmas(CMDLINE_PID) if v.kind == "stack"][0]
    with pytest.raises(CheckpointError, match="pages image ends") as ei:
        mem.read(CMDLINE_PID, stack.start, stack.size)
    assert ei.value.file.endswith("pages-2.img")
