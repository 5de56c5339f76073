"""`critcore mem` (VMA table, hexdump, raw bytes, search) and `critcore inspect` on real
checkpoints, including the streaming search's chunk, page and hole boundaries."""
from __future__ import annotations

import json
import re
import time

import pytest

from conftest import DATA, run_cli
from critcore.explore import Checkpoint
from critcore.explore.memmodel import Hole
from critcore.explore.memsearch import search
from test_memory import CMDLINE, CMDLINE_PID, PAGE, copy_dir, expected_pages, shared


def ok(argv):
    status, out, err = run_cli(argv)
    assert status == 0, err
    assert err == ""
    return out.decode("utf-8")


def fails(argv, *words):
    status, out, err = run_cli(argv)
    assert status == 1, (status, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and "UNCAUGHT" not in err, err
    for w in words:
        assert w in err, err
    return err


# -- the VMA table ----------------------------------------------------------------------------

def test_table():
    out = ok(["mem", str(CMDLINE), "71"]).splitlines()
    assert out[0] == ("pid 71: 24 VMAs, 665 pages (2.6 MiB), 36 of them in the checkpoint "
                      "(144 KiB)")
    assert out[1].split() == ["#", "START", "END", "SIZE", "PROT", "KIND", "PAGES", "IN",
                              "IMAGE", "NAME"]
    heap = [line for line in out if line.endswith("[heap]")][0].split()
    assert heap[3:9] == ["132", "KiB", "rw-", "heap", "33", "2"]
    shared_row = [line for line in out if "memfd:/dev/zero" in line][0].split()
    assert shared_row[5:9] == ["rw-", "shared", "1", "1"]


def test_table_filters():
    def rows(*extra):
        out = ok(["mem", str(CMDLINE), "71"] + list(extra)).splitlines()
        return [line.split()[0] for line in out[2:]]
    assert rows("--kind", "stack") == ["22"]
    assert rows("--kind", "shared") == ["13"]
    assert rows("--prot", "r-x") == ["1", "8", "16", "18"]
    assert rows("--prot", "rw", "--kind", "anon") == ["6", "12", "14"]
    assert rows("--range", "7f2f435ea000-7f2f435ed000") == ["13", "14"]
    doc = json.loads(ok(["mem", str(CMDLINE), "71", "--kind", "heap", "--json"]))
    assert doc[0]["rows"][0]["vma"]["name"] == "[heap]" and doc[0]["rows"][0]["in_image"] == 2


def test_table_bigmem():
    d = shared("08-bigmem-many-vmas")
    out = ok(["mem", str(d), "19596"]).splitlines()
    assert out[0].startswith("pid 19596: 2122 VMAs,")
    assert "4829 of them in the checkpoint (18.9 MiB)" in out[0]
    assert len(out) == 2 + 2122


# -- hexdump and raw bytes --------------------------------------------------------------------

def test_hexdump_vma_with_repeats():
    out = ok(["mem", str(CMDLINE), "71", "--vma", "13"]).splitlines()
    zeros = "  ".join(["00 00 00 00 00 00 00 00"] * 2)
    assert out == ["7f2f435ea000  01" + zeros[2:] + "  |................|",
                   "7f2f435ea010  " + zeros + "  |................|",
                   "*",
                   "7f2f435eb000"]


def test_hexdump_addr_len_unaligned_and_holes():
    mm = Checkpoint(str(CMDLINE)).mm(CMDLINE_PID)
    start = mm["mm_arg_start"]
    out = ok(["mem", str(CMDLINE), "71", "--addr", "%x" % start, "--len", "20"]).splitlines()
    assert out[0].startswith("%x" % (start & ~15))
    assert out[0].endswith("|  ./cmdlinenv00|") or "./cmdl" in out[0]
    assert "".join(line.split("|")[1] for line in out).strip().startswith("./cmdlinenv00.--pid")
    out = ok(["mem", str(CMDLINE), "71", "--addr", "0x561514cda000", "--len", "0x2010"])
    lines = out.splitlines()
    assert lines[0] == ("561514cda000  -- 561514cda000-561514cdc000: 2 pages not in the "
                        "checkpoint (in the mapped file) --")
    assert lines[1].startswith("561514cdc000  48 83 ec 08")


def test_raw_output(tmp_path):
    out = tmp_path / "vma13.bin"
    assert ok(["mem", str(CMDLINE), "71", "--vma", "13", "-o", str(out)]) == ""
    assert out.read_bytes() == expected_pages(CMDLINE, "pagemap-shmem-1489.img")[0]
    mm = Checkpoint(str(CMDLINE)).mm(CMDLINE_PID)
    n = mm["mm_arg_end"] - mm["mm_arg_start"]
    ok(["mem", str(CMDLINE), "71", "--addr", hex(mm["mm_arg_start"]), "--len", str(n),
        "-o", str(out)])
    assert out.read_bytes().split(b"\0")[3:6] == [b"--arg1=arg1", b"--arg2=arg2", b"--arg3=arg3"]
    # a range with missing pages: an error naming the address, and the file is untouched
    fails(["mem", str(CMDLINE), "71", "--vma", "5", "-o", str(out)], "0x561546f0e000",
          "31 pages not in the checkpoint (not dumped)")
    assert out.read_bytes().startswith(b"./cmdlinenv00")
    status, _, err = run_cli(["mem", str(CMDLINE), "71", "--vma", "5", "-o", str(out),
                              "--zero-fill"])
    assert status == 0 and "written as zeros" in err
    assert len(out.read_bytes()) == 33 * PAGE


# -- search -----------------------------------------------------------------------------------

def test_search_cmdline_args():
    out = ok(["mem", str(CMDLINE), "--search=--arg2=arg2"]).splitlines()
    assert len(out) == 2  # the argv copy on the stack and the kernel's arg area
    for line in out:
        assert line.startswith("71  7ffc30c") and "#22 rw- [stack]" in line
        assert '"--arg2=arg2"' in line and '"\\0--arg3=arg3' in line
    doc = json.loads(ok(["mem", str(CMDLINE), "71", r"--search-regex=--arg\d=arg\d",
                         "--context", "4", "--json"]))
    assert [m["match"] for m in doc] == ["--arg%d=arg%d" % (i, i) for i in (1, 2, 3)] * 2
    assert doc[0]["before"] == "out\\0" and len(doc[0]["after"]) <= 8


def naive(mem, pid, regex, vmas=None):
    """(address, match) of every match, each contiguous run of dumped bytes read whole."""
    vmas = vmas or mem.vmas(pid)
    found, run, start, end = [], [], None, None
    for item in list(mem.chunks(pid, vmas[0].start, vmas[-1].end, 1 << 30, vmas)) + [None]:
        if item is None or isinstance(item, Hole) or item[0] != end:
            data = b"".join(run)
            found += [(start + m.start(), m.group()) for m in regex.finditer(data)
                      if m.end() > m.start()]
            run, start, end = [], None, None
        if item is not None and not isinstance(item, Hole):
            if start is None:
                start = item[0]
            run.append(item[1])
            end = item[0] + len(item[1])
    return found


@pytest.mark.parametrize("chunk", [PAGE - 3, PAGE, 3 * PAGE + 5, 1 << 20])
def test_search_straddles_chunks_and_pages(chunk):
    cp = Checkpoint(str(CMDLINE))
    mem = cp.memory()
    # a needle across the boundary of two dumped pages in one contiguous run, found
    # nowhere else
    vmas = mem.vmas(CMDLINE_PID)
    pieces = [p for p in mem.chunks(CMDLINE_PID, vmas[0].start, vmas[-1].end)
              if not isinstance(p, Hole)]
    everything = b"|".join(d for _, d in pieces)
    a, data, cut = [(a, d, k) for a, d in pieces for k in range(PAGE, len(d), PAGE)
                    if everything.count(d[k - 6:k + 6]) == 1][0]
    needle = data[cut - 6:cut + 6]
    regexes = [re.compile(re.escape(needle)), re.compile(rb"[a-z]+=[^\0]{2,}"),
               re.compile(rb"\0\0\0\0+")]
    for rx in regexes:
        want = naive(mem, CMDLINE_PID, rx)
        got = [(m.addr, m.match) for m in search(mem, [CMDLINE_PID], rx, 8, chunk=chunk,
                                                 window=max(64, chunk // 2))]
        assert got == want
    assert (a + cut - 6, needle) in [(m.addr, m.match) for m in
                                     search(mem, [CMDLINE_PID], regexes[0], chunk=chunk)]


def test_search_never_joins_across_a_hole():
    mem = Checkpoint(str(CMDLINE)).memory()
    vma = [v for v in mem.vmas(CMDLINE_PID) if v.index == 12][0]
    items = list(mem.chunks(CMDLINE_PID, vma.start, vma.end))
    i = [k for k in range(1, len(items) - 1) if isinstance(items[k], Hole)
         and not isinstance(items[k - 1], Hole) and not isinstance(items[k + 1], Hole)][0]
    before, after = items[i - 1], items[i + 1]
    needle = before[1][-4:] + after[1][:4]
    found = [m.addr for m in search(mem, [CMDLINE_PID], re.compile(re.escape(needle)))]
    assert before[0] + len(before[1]) - 4 not in found


def test_search_all_tasks_python_multi():
    d = shared("02-python-multi")
    out = ok(["mem", str(d), "--search", "tree-child"]).splitlines()
    pids = {line.split()[0] for line in out}
    assert {"22109", "22111"} <= pids


def test_search_bigmem_is_fast():
    d = shared("08-bigmem-many-vmas")
    t0 = time.perf_counter()
    out = ok(["mem", str(d), "--search", "critcore: no such string"])
    elapsed = time.perf_counter() - t0
    assert out == ""
    assert elapsed < 5  # about 0.1 s here; bench/mem_search.py measures it properly
    out = ok(["mem", str(d), "--search", "bigmem"]).splitlines()
    mem = Checkpoint(str(d)).memory()
    want = naive(mem, 19596, re.compile(b"bigmem"))
    assert [int(line.split()[1], 16) for line in out] == [a for a, _ in want] and len(want) == 3


# -- inspect ----------------------------------------------------------------------------------

def test_inspect_cmdlinenv00():
    text = ok(["inspect", str(CMDLINE)])
    assert "--arg1=arg1 --arg2=arg2 --arg3=arg3" in text
    assert "└── [71]  cmdlinenv00" in text and "Environment" not in text
    assert "Pages written: 35 (140 KiB)" in text
    assert "[REG 0]  /dev/null" in text
    doc = json.loads(ok(["inspect", str(CMDLINE), "--json", "--env"]))
    t = doc["tasks"][0]
    assert t["cmdline"][-3:] == ["--arg1=arg1", "--arg2=arg2", "--arg3=arg3"]
    assert "TMPDIR=/tmp" in t["environ"]
    assert t["memory"] == {"vmas": 24, "mapped_bytes": 665 * PAGE, "in_image_bytes": 36 * PAGE}
    assert doc["stats"]["dump"]["pages_written"] == 35 and doc["container"] is None
    assert "environ" not in json.loads(ok(["inspect", str(CMDLINE), "--json"]))["tasks"][0]


def test_inspect_python_multi():
    d = shared("02-python-multi")
    doc = json.loads(ok(["inspect", str(d), "--json", "--env"]))
    py = doc["tasks"][0]
    assert py["comm"] == "python3"
    assert py["cmdline"] == ["/usr/bin/python3", "multi.py", "/tmp/progs/multi.pid"]
    assert any(e.startswith("PATH=") for e in py["environ"])
    assert any(s["family"] == "UNIX" for s in py["sockets"])
    assert [c["cmdline"] for c in py["children"]] == [["tree-child"]]
    text = ok(["inspect", str(d), "--env"])
    assert "Command line: /usr/bin/python3 multi.py /tmp/progs/multi.pid" in text
    assert "Open sockets" in text


def test_inspect_env_entry_without_equals(tmp_path):
    # Rewrite one environment entry of a copy in place: "TMPDIR=/tmp" -> "TMPDIR\0/tmp"
    d = copy_dir(CMDLINE, tmp_path / "env")
    pages = bytearray((d / "pages-2.img").read_bytes())
    i = pages.index(b"\0TMPDIR=/tmp\0", pages.index(b"--arg3=arg3\0TMPDIR"))
    pages[i + 7] = 0
    (d / "pages-2.img").write_bytes(bytes(pages))
    doc = json.loads(ok(["inspect", str(d), "--json", "--env"]))
    env = doc["tasks"][0]["environ"]
    assert env[:2] == ["TMPDIR", "/tmp"]
    assert "│   ├── TMPDIR\n" in ok(["inspect", str(d), "--env"])


def test_inspect_zombies_have_no_memory():
    d = DATA / "zdtm-zombie00"
    doc = json.loads(ok(["inspect", str(d), "--json"]))
    kids = doc["tasks"][0]["children"]
    assert kids and all(k["cmdline"] is None and k["memory"] is None for k in kids)


# -- errors: one line, status 1 ---------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (["71", "--vma", "99"], ["no VMA #99"]),
    (["72"], ["pid 72 is not a task"]),
    (["--vma", "1"], ["need a PID"]),
    (["71", "--addr", "xyz"], ["bad address"]),
    (["71", "--addr", "10", "--vma", "1"], ["not both"]),
    (["71", "--search", "a", "--search-regex", "b"], ["not both"]),
    (["71", "--search-regex", "("], ["bad --search-regex"]),
    (["71", "--search", "a", "--vma", "1"], ["pick one"]),
    (["71", "--prot", "q"], ["bad --prot"]),
    (["71", "--range", "20-10"], ["bad range"]),
    (["71", "-o", "/tmp/x"], ["go with --addr"]),
    (["71", "--page-size", "3000"], ["--page-size"]),
])
def test_mem_errors(argv, words):
    fails(["mem", str(CMDLINE)] + argv, *words)


def test_mem_errors_on_dead_task_and_bad_dir(tmp_path):
    fails(["mem", str(DATA / "zdtm-zombie00"), "72"], "dead or a zombie")
    fails(["mem", str(tmp_path / "nope"), "1"], "no such directory")
    fails(["inspect", str(tmp_path)], "no pstree.img")
