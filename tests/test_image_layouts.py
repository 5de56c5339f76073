"""Image framing and the special layouts on real CRIU images from tests/data, plus the fixes to
crit 4.2 (IPCNS_SHM in_pagemaps, BPFMAP_DATA, info counts) and the Python API around them."""
import glob
import io
import json
import os
import struct

import pytest

import critcore
from critcore.errors import CritError, DecodeError, EncodeError, UnknownMagicError

from conftest import DATA, run_cli

U32 = struct.Struct("<I")


def image(pattern):
    hits = sorted(glob.glob(str(DATA / pattern)))
    if not hits:
        pytest.skip("no %s in tests/data" % pattern)
    return hits[0]


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


# ---------------------------------------------------------------- layouts on real images

@pytest.mark.parametrize("pattern, magic", [
    ("*/pipes-data.img", "PIPES_DATA"), ("*/fifo-data.img", "FIFO_DATA"),
    ("*/sk-queues.img", "SK_QUEUES"), ("*/tcp-stream-*.img", "TCP_STREAM"),
    ("*/ghost-file-*.img", "GHOST_FILE"), ("*/ipcns-shm-*.img", "IPCNS_SHM"),
    ("*/ipcns-sem-*.img", "IPCNS_SEM"), ("*/ipcns-msg-*.img", "IPCNS_MSG"),
    ("*/bpfmap-data.img", "BPFMAP_DATA"), ("*/pagemap-[0-9]*.img", "PAGEMAP"),
    ("*/pagemap-shmem-*.img", "PAGEMAP"), ("*/inventory.img", "INVENTORY"),
    ("*/stats-dump", "STATS"), ("*/tty-data.img", "TTY_DATA"),
])
def test_layout_round_trip(pattern, magic):
    for path in sorted(glob.glob(str(DATA / pattern))) or pytest.skip("none in tests/data"):
        data = read(path)
        for pretty in (False, True):
            img = critcore.loads(data, pretty=pretty)
            assert img["magic"] == magic
            assert critcore.dumps(json.loads(json.dumps(img))) == data, path


def test_tcp_stream_extra_is_inq_outq():
    data = read(image("*/tcp-stream-*.img"))
    e = critcore.loads(data)["entries"][0]
    import base64
    assert set(e["extra"]) == {"inq", "outq"}
    assert len(base64.b64decode(e["extra"]["inq"])) == e["inq_len"]
    assert len(base64.b64decode(e["extra"]["outq"])) == e["outq_len"]


def test_ipc_sem_extra_is_list_of_ints():
    img = critcore.loads(read(image("*/ipcns-sem-*.img")))
    for e in img["entries"]:
        assert isinstance(e["extra"], list) and len(e["extra"]) == e["nsems"]
        assert all(isinstance(v, int) for v in e["extra"])


def test_ipc_msg_extra_is_flat_message_list():
    img = critcore.loads(read(image("*/ipcns-msg-*.img")))
    e = img["entries"][0]
    assert len(e["extra"]) == 2 * e["qnum"]
    assert all(isinstance(m, dict) and "msize" in m for m in e["extra"][0::2])


def shm_segment(in_pagemaps, size, key):
    return {"desc": {"key": key, "uid": 0, "gid": 0, "cuid": 0, "cgid": 0, "mode": 0o600, "id": key},
            "size": size, "in_pagemaps": in_pagemaps}


def test_ipcns_shm_in_pagemaps_has_no_inline_data():
    # crit 4.2 read `size` bytes after every entry and swallowed the following ones.
    img = {"magic": "IPCNS_SHM", "entries": [
        shm_segment(True, 4096, 1), shm_segment(True, 8192, 2),
        dict(shm_segment(False, 3, 3), extra="YWJj\n")]}
    data = critcore.dumps(img)
    assert data.endswith(b"abc\x00")  # only the last segment has data: 3 bytes + 1 of padding
    back = critcore.loads(data)
    assert [("extra" in e) for e in back["entries"]] == [False, False, True]
    assert back["entries"][2]["extra"] == "YWJj\n"
    assert critcore.dumps(back) == data
    nopl = critcore.loads(data, pretty=True, no_payload=True)
    assert nopl["entries"][2]["extra"] == "... <3B>"
    with pytest.raises(EncodeError, match="in_pagemaps segment has no inline data"):
        critcore.dumps({"magic": "IPCNS_SHM", "entries": [dict(shm_segment(True, 1, 1), extra="")]})


def test_real_ipcns_shm_in_pagemaps_entries_all_decode():
    for path in glob.glob(str(DATA / "*/ipcns-shm-*.img")):
        img = critcore.loads(read(path))
        info = critcore.info(io.BytesIO(read(path)))
        assert info["count"] == len(img["entries"])


def test_bpfmap_data_nopl_and_base64_encode():
    path = image("*/bpfmap-data.img")
    data = read(path)
    e = critcore.loads(data)["entries"][0]
    size = e["keys_bytes"] + e["values_bytes"]
    nopl = critcore.loads(data, pretty=True, no_payload=True)["entries"][0]
    assert nopl["extra"] == "... <%s>" % critcore.image.human_readable(size)
    assert critcore.dumps(critcore.loads(data)) == data  # crit 4.2: TypeError on the base64 str


def test_payload_length_must_match_header():
    img = critcore.loads(read(image("*/pipes-data.img")))
    img["entries"][0]["bytes"] += 1
    with pytest.raises(EncodeError) as ei:
        critcore.dumps(img)
    assert ei.value.path == "entries[0].extra"
    assert "but the entry says" in str(ei.value)


def test_ghost_file_chunked_and_plain():
    for path in glob.glob(str(DATA / "*/ghost-file-*.img")):
        data = read(path)
        img = critcore.loads(data)
        head = img["entries"][0]
        if head.get("chunks"):
            assert all("extra" in e and "len" in e for e in img["entries"][1:])
        else:
            assert len(img["entries"]) == 1
        nopl = critcore.loads(data, no_payload=True)
        assert all("extra" not in e for e in nopl["entries"])
        assert critcore.info(io.BytesIO(data))["count"] == len(img["entries"])


def test_pagemap_info_excludes_head_and_iter_entries_streams():
    path = image("*/pagemap-[0-9]*.img")
    data = read(path)
    img = critcore.loads(data)
    assert critcore.info(io.BytesIO(data)) == {"magic": "PAGEMAP", "count": len(img["entries"]) - 1}
    assert "pages_id" in img["entries"][0]
    with open(path, "rb") as fh:
        assert list(critcore.iter_entries(fh)) == img["entries"]


# ---------------------------------------------------------------- framing errors

def test_empty_and_short_files():
    with pytest.raises(DecodeError, match="empty file"):
        critcore.loads(b"")
    with pytest.raises(DecodeError, match="truncated magic"):
        critcore.loads(b"\x19\x43")


def test_unknown_magic_says_what_the_file_probably_is():
    raw = image("*/pages-*.img")
    with pytest.raises(UnknownMagicError) as ei:
        critcore.loads(read(raw), file=os.path.basename(raw))
    assert "memory pages" in str(ei.value) and ei.value.offset is not None
    assert critcore.MagicException is UnknownMagicError


def test_size_prefix_larger_than_file_is_an_error_not_a_read():
    data = read(image("*/core-*.img"))
    bad = data[:8] + U32.pack(0xFFFFFFF0) + data[12:]
    with pytest.raises(DecodeError) as ei:
        critcore.loads(bad, file="core.img")
    msg = str(ei.value)
    assert msg.startswith("core.img: offset 0x8: entries[0]: entry size 4294967280 is larger")


def test_trailing_garbage_is_reported_with_offset():
    data = read(image("01-minimal-c-loop/pstree.img")) + b"\x01\x02"
    with pytest.raises(DecodeError) as ei:
        critcore.loads(data, file="pstree.img")
    assert ei.value.offset == len(data) - 2
    assert "truncated entry size" in str(ei.value)


def test_error_inside_nested_message_has_file_offset_and_full_path():
    img = critcore.loads(read(image("01-minimal-c-loop/mm-*.img")))
    entry = img["entries"][0]
    keep = {k: v for k, v in entry.items() if k in ("mm_start_code", "vmas")}
    keep["vmas"] = entry["vmas"][:4]
    data = bytearray(critcore.dumps({"magic": "MM", "entries": [keep]}, validate=False))
    data[-1] |= 0x80  # the last varint of vmas[3] now runs off the end of its VMA
    with pytest.raises(DecodeError) as ei:
        critcore.loads(bytes(data), file="mm-1.img")
    e = ei.value
    last = list(keep["vmas"][3])[-1]
    assert str(e) == "mm-1.img: offset %#x: entries[0].vmas[3].%s: truncated message" % (e.offset, last)
    assert len(data) - 20 < e.offset <= len(data)


# ---------------------------------------------------------------- API

def test_dump_does_not_mutate_and_writes_nothing_on_error():
    img = critcore.loads(read(image("*/pipes-data.img")))
    before = json.dumps(img)
    buf = io.BytesIO()
    critcore.dump(img, buf)
    assert json.dumps(img) == before  # pycriu pops "extra"
    bad = json.loads(before)
    bad["entries"][0]["extra"] = "!!"
    out = io.BytesIO()
    with pytest.raises(EncodeError):
        critcore.dump(bad, out)
    assert out.getvalue() == b""


def test_construct_image_file():
    from critcore.image import ImageFile
    data = read(image("01-minimal-c-loop/pstree.img"))
    fmt = ImageFile()
    img = fmt.parse(data)
    assert img["magic"] == "PSTREE"
    assert fmt.build(img) == data
    with pytest.raises(CritError):
        fmt.parse(b"\x00\x00\x00\x00")


def test_encode_rejects_bad_top_level():
    for doc, msg in [([], "an image is an object"), ({"entries": []}, "magic"),
                     ({"magic": "BANANA", "entries": []}, "not a magic"),
                     ({"magic": "MM", "entries": {}}, "must be an array"),
                     ({"magic": "MM", "entries": [], "x": 1}, "unknown key 'x'")]:
        with pytest.raises(EncodeError, match=msg):
            critcore.dumps(doc)


# ---------------------------------------------------------------- CLI

def test_cli_pipes_and_atomic_output(tmp_path):
    src = image("01-minimal-c-loop/core-*.img")
    data = read(src)
    st, out, err = run_cli(["decode"], stdin_bytes=data)
    assert st == 0 and out.endswith(b"\n")
    st, back, err = run_cli(["encode"], stdin_bytes=out)
    assert st == 0 and back == data
    target = tmp_path / "out.img"
    target.write_bytes(b"keep me")
    bad = tmp_path / "bad.json"
    bad.write_text('{"magic": "PSTREE", "entries": [{"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, '
                   '"nosuch": 1}]}')
    st, out, err = run_cli(["encode", "-i", str(bad), "-o", str(target)])
    assert st == 1 and target.read_bytes() == b"keep me"
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "entries[0].nosuch" in err
    st, out, err = run_cli(["decode", "-i", src, "-o", str(tmp_path / "new.json")])
    assert st == 0 and out == b""
    assert not (tmp_path / "new.json").read_bytes().endswith(b"\n")  # as crit: no newline in files
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_wrong_direction_messages(tmp_path):
    src = image("01-minimal-c-loop/core-*.img")
    st, out, err = run_cli(["encode", "-i", src])
    assert st == 1 and "encode expects JSON" in err and len(err.splitlines()) == 1
    j = tmp_path / "x.json"
    j.write_text('{"magic": "CORE", "entries": []}')
    st, out, err = run_cli(["decode", "-i", str(j)])
    assert st == 1 and "decode expects a binary image" in err
    st, out, err = run_cli(["encode"], stdin_bytes=b"{not json")
    assert st == 1 and err.startswith("<stdin>: offset 0x1: not valid JSON")
    st, out, err = run_cli(["info", str(tmp_path / "missing.img")])
    assert st == 1 and "No such file" in err and len(err.splitlines()) == 1
