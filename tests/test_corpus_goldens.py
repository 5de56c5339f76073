"""Byte-for-byte checks of the CLI against the reference outputs bundled in tests/data:
decode, show, show --nopl, info, decode->encode round trips, x, and raw-image rejection."""
from __future__ import annotations

import pytest

from conftest import DATA, DATA_IMAGES, DATA_RAW, DATA_X, image_base, params, run_cli


def golden(scen, name, suffix):
    return DATA / scen / "golden" / (image_base(name) + suffix)


def check_output(argv, want_path):
    status, out, err = run_cli(argv)
    assert status == 0, err
    want = want_path.read_bytes()
    if out != want:
        # Show the first differing line rather than two large blobs.
        got_l, want_l = out.splitlines(), want.splitlines()
        for i, (g, w) in enumerate(zip(got_l, want_l)):
            if g != w:
                pytest.fail("line %d differs:\n got: %r\nwant: %r" % (i + 1, g[:300], w[:300]))
        pytest.fail("output differs in length: %d vs %d bytes (%d vs %d lines)"
                    % (len(out), len(want), len(got_l), len(want_l)))


def test_corpus_present():
    """Guards against an empty parametrisation silently passing."""
    assert DATA_IMAGES and DATA_RAW and DATA_X


@pytest.mark.parametrize("scen,name", params(DATA_IMAGES))
def test_decode(scen, name):
    check_output(["decode", "-i", str(DATA / scen / name)], golden(scen, name, ".json"))


@pytest.mark.parametrize("scen,name", params(DATA_IMAGES))
def test_show(scen, name):
    check_output(["show", str(DATA / scen / name)], golden(scen, name, ".pretty.json"))


@pytest.mark.parametrize("scen,name", params(DATA_IMAGES))
def test_show_nopl(scen, name):
    want = golden(scen, name, ".nopl.json")
    if not want.exists():
        want = golden(scen, name, ".pretty.json")
    check_output(["show", "--nopl", str(DATA / scen / name)], want)


@pytest.mark.parametrize(
    "scen,name", params([p for p in DATA_IMAGES if golden(p[0], p[1], ".info.json").exists()]))
def test_info(scen, name):
    check_output(["info", str(DATA / scen / name)], golden(scen, name, ".info.json"))


@pytest.mark.parametrize("flavour", [[], ["--pretty"]], ids=["plain", "pretty"])
@pytest.mark.parametrize("scen,name", params(DATA_IMAGES))
def test_recode(scen, name, flavour, tmp_path):
    src = DATA / scen / name
    j, b = tmp_path / "x.json", tmp_path / "x.img"
    status, _, err = run_cli(["decode"] + flavour + ["-i", str(src), "-o", str(j)])
    assert status == 0, err
    status, _, err = run_cli(["encode", "-i", str(j), "-o", str(b)])
    assert status == 0, err
    assert b.read_bytes() == src.read_bytes()


def test_decode_encode_stdio():
    """decode and encode default to stdin/stdout."""
    src = DATA / "01-minimal-c-loop" / "core-12424.img"
    status, out, err = run_cli(["decode"], stdin_bytes=src.read_bytes())
    assert status == 0, err
    assert out == golden("01-minimal-c-loop", "core-12424.img", ".json").read_bytes()
    status, img, err = run_cli(["encode"], stdin_bytes=out)
    assert status == 0, err
    assert img == src.read_bytes()


@pytest.mark.parametrize("scen,what", params(DATA_X))
def test_x(scen, what):
    check_output(["x", str(DATA / scen), what], DATA / scen / "golden" / ("x-%s.txt" % what))


@pytest.mark.parametrize("cmd", [["decode", "-i"], ["show"], ["info"]], ids=["decode", "show", "info"])
@pytest.mark.parametrize("scen,name", params(DATA_RAW))
def test_raw_rejected(scen, name, cmd):
    """Raw (non-protobuf) images and empty files: exit 1, one line on stderr, no traceback."""
    status, _, err = run_cli(cmd + [str(DATA / scen / name)])
    assert status == 1, err
    assert "Traceback" not in err and "UNCAUGHT" not in err, err
    assert len(err.strip().splitlines()) == 1, err
