"""The command matrix of crit's own test (criu/test/others/crit): decode/encode with -i/-o,
stdin/stdout and real pipes, info, show, x; plus clear errors for the wrong direction."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from conftest import DATA, REPO, run_cli

CKPT = DATA / "01-minimal-c-loop"
IMAGES = sorted(p.name for p in CKPT.iterdir()
                if p.is_file() and (CKPT / "golden" / (p.name[:-4] + ".json")).is_file())


@pytest.mark.parametrize("name", IMAGES)
def test_roundtrip_matrix(name, tmp_path):
    """crit's run_test1 for every image, in-process: each way of naming input and output."""
    img = CKPT / name
    data = img.read_bytes()
    plain, pretty = tmp_path / "x.json", tmp_path / "x.pretty.json"
    # decode: -i/-o, stdin/-o, -i/stdout, stdin/stdout; --pretty likewise
    assert run_cli(["decode", "-i", str(img), "-o", str(plain)])[:2] == (0, b"")
    st, out, err = run_cli(["decode"], stdin_bytes=data)
    assert st == 0 and err == "" and out == plain.read_bytes() + b"\n"
    assert run_cli(["decode", "--pretty", "-o", str(pretty)], stdin_bytes=data)[0] == 0
    st, out, _ = run_cli(["decode", "--pretty", "-i", str(img)])
    assert st == 0 and out == pretty.read_bytes() + b"\n"
    for src in (plain, pretty):
        target = tmp_path / "back.img"
        assert run_cli(["encode", "-i", str(src), "-o", str(target)])[:2] == (0, b"")
        assert target.read_bytes() == data
        st, out, err = run_cli(["encode"], stdin_bytes=src.read_bytes())
        assert (st, out, err) == (0, data, "")
        st, out, err = run_cli(["encode", "-i", str(src)])
        assert (st, out, err) == (0, data, "")
    st, out, err = run_cli(["show", str(img)])
    assert st == 0 and out == pretty.read_bytes() + b"\n"
    st, out, _ = run_cli(["info", str(img)])
    assert st == 0 and set(json.loads(out)) == {"magic", "count"}


def _sh(script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script], cwd=str(cwd), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)


def test_real_pipes_and_redirections(tmp_path):
    """crit's run_test2 with processes, pipes and shell redirections."""
    crit = "%s -m critcore" % shlex.quote(sys.executable)
    inv = shlex.quote(str(CKPT / "inventory.img"))
    pipes = shlex.quote(str(DATA / "02-python-multi" / "pipes-data.img"))
    script = "\n".join([
        "set -e",
        "cd %s" % shlex.quote(str(REPO)),
        "cat %s | {c} decode | {c} encode -o %s/inv.img" % (inv, tmp_path),
        "{c} decode -i %s --pretty < /dev/null | {c} encode > %s/inv2.img" % (inv, tmp_path),
        "{c} decode --pretty < %s > %s/pipes.json" % (pipes, tmp_path),
        "{c} encode < %s/pipes.json | cmp - %s" % (tmp_path, pipes),
        "{c} show %s | {c} encode | cmp - %s" % (pipes, pipes),
        "{c} info %s > %s/info.json" % (inv, tmp_path),
        "{c} x %s ps > %s/ps.txt" % (shlex.quote(str(CKPT)), tmp_path),
    ]).replace("{c}", crit)
    p = _sh(script, tmp_path)
    assert p.returncode == 0, p.stderr.decode()
    for out in ("inv.img", "inv2.img"):
        assert (tmp_path / out).read_bytes() == (CKPT / "inventory.img").read_bytes()
    assert json.loads((tmp_path / "info.json").read_text()) == {"magic": "INVENTORY", "count": 1}
    assert (tmp_path / "ps.txt").read_bytes() == (CKPT / "golden" / "x-ps.txt").read_bytes()


def test_usage_lists_the_commands_with_decode_first():
    # crit's test reads the command list from `crit --help`, and wants decode first.
    st, out, _ = run_cli(["--help"])
    text = out.decode()
    assert st == 0 and "{decode," in text


def test_wrong_direction_errors(tmp_path):
    img = CKPT / "inventory.img"
    st, out, err = run_cli(["encode", "-i", str(img), "-o", str(tmp_path / "x.img")])
    assert (st, out) == (1, b"") and not (tmp_path / "x.img").exists()
    assert err == ("inventory.img: offset 0x0: this looks like a binary image, not JSON; "
                   "encode expects JSON (decode makes it)\n")
    st, _, err = run_cli(["encode"], stdin_bytes=(CKPT / "core-12424.img").read_bytes())
    assert st == 1 and err.startswith("<stdin>: offset 0x0: this looks like a binary image")
    j = tmp_path / "x.json"
    j.write_bytes(run_cli(["decode", "-i", str(img)])[1])
    for argv in (["decode", "-i", str(j)], ["show", str(j)], ["info", str(j)]):
        st, out, err = run_cli(argv)
        assert st == 1 and out == b"" and len(err.splitlines()) == 1, (argv, err)
    assert "decode expects a binary image" in run_cli(["decode", "-i", str(j)])[2]
    st, _, err = run_cli(["decode"], stdin_bytes=b"\xef\xbb\xbf{}")
    assert st == 1 and "looks like JSON" in err
    st, _, err = run_cli(["validate", str(img)])
    assert st == 1 and "this looks like a binary image" in err
    st, _, err = run_cli(["encode"], stdin_bytes=b"")
    assert st == 1 and err.startswith("<stdin>: offset 0x0: not valid JSON")


def test_output_file_untouched_on_any_failure(tmp_path):
    target = tmp_path / "out.img"
    target.write_bytes(b"old")
    target.chmod(0o640)
    for doc in ('{"magic": "INVENTORY"}', "[1, 2", '{"magic": "MM", "entries": [{}]}'):
        src = tmp_path / "in.json"
        src.write_text(doc)
        st, _, err = run_cli(["encode", "-i", str(src), "-o", str(target)])
        assert st == 1 and err
        assert target.read_bytes() == b"old" and target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.json", "out.img"]
