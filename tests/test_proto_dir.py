"""--proto-dir (issue 5): a v3.17 schema over the whole shared corpus, a made-up "future" CRIU
format (new field, enum value, .proto and magic), the parse cache, the warning and schema diff."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import DATA, FORMATS, REPO, SHARED_IMAGES, formats, run_cli
from critcore import CritError, dumps, loads
from critcore.message.codec import RESERVED_KEY
from critcore.pretty import render
from critcore.schema import default_schema
from critcore.schema.diff import schema_diff
from critcore.schema.loader import bundled_schema
from critcore.schema.overlay import overlay_bundle, overlay_schema

TOOL = REPO / "tools" / "proto2yaml.py"
LOOP = DATA / "01-minimal-c-loop"
FOO_BAR_MAGIC = 0x5A5A1234

FOO_BAR_PROTO = """// A message of a CRIU release that does not exist yet.
syntax = "proto2";

import "opts.proto";
import "fown.proto";

message foo_bar_entry {
	required uint32		id	= 1;
	optional string		name	= 2;
	optional fown_entry	fown	= 3;
	optional uint64		addr	= 4 [(criu).hex = true];
}

message foo_bar_alt {
	required uint32		id	= 1;
	optional string		label	= 2;
}
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    # Each test starts with an empty parse cache and without a proto dir from the environment.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CRITCORE_PROTO_DIR", raising=False)


def insert_after(path, anchor, text):
    src = path.read_text()
    assert src.count(anchor) == 1, anchor
    path.write_text(src.replace(anchor, anchor + text))


def make_future(root):
    """criu-dev's formats (the bundled schema) plus: vma_entry.future_bits (30), pstree_entry.future_ids (15),
    fd_types.FUTURE_FD (99), foo-bar.proto and FOO_BAR_MAGIC."""
    src = formats("criu-dev")
    shutil.copytree(src / "images", root / "images")
    shutil.copy(src / "magic.h", root / "magic.h")
    insert_after(root / "images" / "vma.proto", "message vma_entry {\n",
                 "\toptional uint64\t\tfuture_bits = 30 [(criu).hex = true];\n")
    insert_after(root / "images" / "pstree.proto", "message pstree_entry {\n",
                 "\trepeated uint32\t\t\tfuture_ids\t= 15;\n")
    insert_after(root / "images" / "fdinfo.proto", "enum fd_types {\n", "\tFUTURE_FD\t= 99;\n")
    (root / "images" / "foo-bar.proto").write_text(FOO_BAR_PROTO)
    insert_after(root / "magic.h", "#define KDAT_MAGIC 0x57023458 /* Torzhok */\n",
                 "#define FOO_BAR_MAGIC %#x\n" % FOO_BAR_MAGIC)
    return root


@pytest.fixture
def future(tmp_path):
    return make_future(tmp_path / "future")


def future_images(schema, out):
    """Images using every new part, encoded with the future schema; {name: bytes}."""
    mm = loads((LOOP / "mm-12424.img").read_bytes(), schema=schema)
    for i, vma in enumerate(mm["entries"][0]["vmas"]):
        vma["future_bits"] = 0x1000 * (i + 1)
    pstree = loads((LOOP / "pstree.img").read_bytes(), schema=schema)
    pstree["entries"][0]["future_ids"] = [7, 8, 9]
    fdinfo = loads((LOOP / "fdinfo-2.img").read_bytes(), schema=schema)
    fdinfo["entries"][0]["type"] = "FUTURE_FD"
    foo = {"magic": "FOO_BAR", "entries": [
        {"id": 1, "name": "first", "fown": {"uid": 0, "euid": 0, "signum": 0, "pid_type": 0,
                                            "pid": 0}, "addr": 0x7F0000001000},
        {"id": 2}]}
    images = {"mm-12424.img": mm, "pstree.img": pstree, "fdinfo-2.img": fdinfo, "foo-bar.img": foo}
    out.mkdir()
    data = {}
    for name, img in images.items():
        data[name] = dumps(img, schema=schema)
        (out / name).write_bytes(data[name])
    return data


# ------------------------------------------------------------------ v3.17 over the corpus

def _fields_by_number(desc):
    return {f.number: f for f in desc.fields}


class Compare:
    """Checks that a v3.17 decode says what the v4.2 decode says for every field v3.17 knows
    (matched by field number, so renamed fields count too) and tallies what it does not know."""

    def __init__(self, old, new):
        self.old, self.new = old, new
        self.unknown = self.enum_numbers = self.renamed = 0

    def message(self, a, b, name, path):
        dold, dnew = self.old.message(name), self.new.message(name)
        new_by_num = _fields_by_number(dnew)
        assert isinstance(a, dict) and isinstance(b, dict), path
        seen = set()
        for key, va in a.items():
            if key == RESERVED_KEY:
                for num, _, _ in va.get("unknown", ()):
                    assert num in new_by_num and num not in _fields_by_number(dold), (path, num)
                    assert new_by_num[num].name in b, (path, num)
                    self.unknown += 1
                continue
            try:
                fo = dold.field(key)
            except KeyError:  # a layout's key such as "extra"
                assert b[key] == va, path + "." + key
                seen.add(key)
                continue
            fn = new_by_num[fo.number]
            self.renamed += fn.name != fo.name
            seen.add(fn.name)
            self.value(va, b[fn.name], fo, fn, path + "." + key)
        known = set(_fields_by_number(dold))
        for key in b:
            if key not in seen and key != RESERVED_KEY:
                # Only fields v3.17 lacks may be missing from its decode.
                assert dnew.field(key).number not in known, (path, key)

    def value(self, va, vb, fo, fn, path):
        if fo.repeated:
            assert len(va) == len(vb), path
            for i, (x, y) in enumerate(zip(va, vb)):
                self.one(x, y, fo, fn, "%s[%d]" % (path, i))
        else:
            self.one(va, vb, fo, fn, path)

    def one(self, x, y, fo, fn, path):
        if fo.type == "message":
            self.message(x, y, fo.type_name, path)
        elif fo.type == "enum" and isinstance(x, int) and isinstance(y, str):
            # A value v3.17's enum lacks stays a number; v4.2 names exactly that number.
            assert self.new.enum(fn.type_name).by_name[y] == x, path
            self.enum_numbers += 1
        else:
            assert x == y, path

    def image(self, a, b):
        assert a["magic"] == b["magic"]
        kind = self.new.image_kind(a["magic"])
        assert len(a["entries"]) == len(b["entries"])
        for i, (x, y) in enumerate(zip(a["entries"], b["entries"])):
            name = kind.entry
            if kind.layout == "pagemap" and i == 0:
                name = kind.params["head"]
            elif kind.layout == "ghost_file" and i > 0:
                name = kind.params["chunk"]
            if kind.layout == "ipc_msg":
                x, y = dict(x), dict(y)
                for k, (m, n) in enumerate(zip(x.pop("extra"), y.pop("extra"))):
                    if isinstance(m, dict):
                        self.message(m, n, kind.params["msg"], "entries[%d].extra[%d]" % (i, k))
                    else:
                        assert m == n
            self.message(x, y, name, "entries[%d]" % i)


@pytest.fixture(scope="module")
def v317_yaml(tmp_path_factory):
    out = tmp_path_factory.mktemp("v317") / "schema"
    res = subprocess.run([sys.executable, str(TOOL), str(formats("v3.17")), "-o", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return out


def test_v317_schema_over_the_shared_corpus(v317_yaml, shared_corpus, capsys):
    old = default_schema(str(v317_yaml))
    new = bundled_schema()
    assert old is not new and "pidfd" not in [f.name for f in old.message("file_entry").fields]
    cmp = Compare(old, new)
    figures = {"images": 0, "with unknown fields": 0, "recoded (plain)": 0, "recoded (pretty)": 0}
    kinds = set()
    before = old.unknown_fields
    for scen, name in SHARED_IMAGES:
        data = (shared_corpus / scen / name).read_bytes()
        a = loads(data, schema=old)
        figures["images"] += 1
        seen = old.unknown_fields
        pa = loads(data, pretty=True, schema=old)
        if old.unknown_fields > seen:
            figures["with unknown fields"] += 1
            kinds.add(a["magic"])
        # Through the JSON text, as `decode | encode` does it.
        if dumps(json.loads(render(a, False)), schema=old) == data:
            figures["recoded (plain)"] += 1
        if dumps(json.loads(render(pa, True)), schema=old) == data:
            figures["recoded (pretty)"] += 1
        cmp.image(a, loads(data, schema=new))
    figures["unknown fields"] = cmp.unknown
    figures["unknown enum values"] = cmp.enum_numbers
    figures["renamed fields seen"] = cmp.renamed
    figures["kinds with unknown fields"] = " ".join(sorted(kinds))
    with capsys.disabled():
        print("\nv3.17 schema over the shared corpus: %s" % figures)
    assert figures["images"] == len(SHARED_IMAGES) > 1000
    assert figures["recoded (plain)"] == figures["recoded (pretty)"] == figures["images"]
    assert figures["with unknown fields"] > 0 and cmp.unknown * 2 == old.unknown_fields - before


# ------------------------------------------------------------------ the future format

def test_future_parts_decode_with_proto_dir(future, tmp_path):
    schema = default_schema(str(future))
    assert schema.image_kind("FOO_BAR").entry == "foo_bar_entry"
    data = future_images(schema, tmp_path / "img")
    mm = loads(data["mm-12424.img"], schema=schema)
    assert [v["future_bits"] for v in mm["entries"][0]["vmas"]][:2] == [0x1000, 0x2000]
    pretty = loads(data["mm-12424.img"], pretty=True, schema=schema)
    assert pretty["entries"][0]["vmas"][0]["future_bits"] == "0x1000"
    assert loads(data["fdinfo-2.img"], schema=schema)["entries"][0]["type"] == "FUTURE_FD"
    foo = loads(data["foo-bar.img"], schema=schema, pretty=True)
    assert foo["entries"][0]["addr"] == "0x7f0000001000" and foo["entries"][1] == {"id": 2}
    assert data["foo-bar.img"][4:8] == FOO_BAR_MAGIC.to_bytes(4, "little")

    img = str(tmp_path / "img" / "mm-12424.img")
    for argv in (["--proto-dir", str(future), "decode", "-i", img],
                 ["decode", "-i", img, "--proto-dir", str(future)]):
        st, out, err = run_cli(argv)
        assert (st, err) == (0, "")
        assert json.loads(out) == mm
    foo_img = str(tmp_path / "img" / "foo-bar.img")
    st, out, err = run_cli(["show", foo_img, "--proto-dir", str(future)])
    assert (st, err) == (0, "") and json.loads(out) == foo
    st, out, err = run_cli(["info", "--proto-dir", str(future), foo_img])
    assert (st, json.loads(out)) == (0, {"magic": "FOO_BAR", "count": 2})
    st, out, err = run_cli(["--proto-dir", str(future), "encode"], json.dumps(foo).encode())
    assert (st, out) == (0, data["foo-bar.img"])


def test_environment_variable(future, tmp_path, monkeypatch):
    data = future_images(default_schema(str(future)), tmp_path / "img")
    monkeypatch.setenv("CRITCORE_PROTO_DIR", str(future))
    st, out, err = run_cli(["decode", "-i", str(tmp_path / "img" / "pstree.img")])
    assert (st, err) == (0, "") and json.loads(out)["entries"][0]["future_ids"] == [7, 8, 9]
    # The API's default schema follows the variable as well; --proto-dir wins over it.
    assert loads(data["pstree.img"])["entries"][0]["future_ids"] == [7, 8, 9]
    st, out, err = run_cli(["--proto-dir", str(FORMATS / "v4.2"), "decode", "-i",
                            str(tmp_path / "img" / "pstree.img")])
    assert st == 0 and RESERVED_KEY in json.loads(out)["entries"][0]


def test_bundled_schema_keeps_the_future_parts(future, tmp_path):
    data = future_images(default_schema(str(future)), tmp_path / "img")
    for name in ("mm-12424.img", "pstree.img", "fdinfo-2.img"):
        img = loads(data[name])
        for pretty in (False, True):
            assert dumps(json.loads(render(loads(data[name], pretty=pretty), pretty))) == data[name]
        path = str(tmp_path / "img" / name)
        st, out, err = run_cli(["decode", "-i", path])
        assert st == 0 and json.loads(out) == img
        lines = err.splitlines()
        if name == "fdinfo-2.img":  # an unknown enum value is a number, not an unknown field
            assert img["entries"][0]["type"] == 99 and err == ""
        else:
            assert len(lines) == 1 and lines[0].startswith("critcore: warning: %s has data" % name)
            assert "kept" in lines[0] and "--proto-dir" in lines[0]
        (tmp_path / "x.json").write_bytes(out)
        st, back, err = run_cli(["encode", "-i", str(tmp_path / "x.json")])
        assert (st, back, err) == (0, data[name], "")
    vma = loads(data["mm-12424.img"])["entries"][0]["vmas"][0]
    assert vma[RESERVED_KEY] == {"unknown": [[30, 0, 0x1000]]}
    # A new image kind needs its magic: without it the image is refused in one line.
    st, out, err = run_cli(["decode", "-i", str(tmp_path / "img" / "foo-bar.img")])
    assert st == 1 and len(err.splitlines()) == 1 and "unknown magic 0x5a5a1234" in err


def test_warning_once_per_run_for_a_checkpoint(future, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(LOOP, ckpt, ignore=shutil.ignore_patterns("golden"))
    data = future_images(default_schema(str(future)), tmp_path / "img")
    for name in ("mm-12424.img", "pstree.img"):
        (ckpt / name).write_bytes(data[name])
    st, out, err = run_cli(["x", str(ckpt), "mems"])
    assert st == 0 and len(err.splitlines()) == 1 and "warning" in err
    st, out2, err = run_cli(["x", str(ckpt), "mems", "--proto-dir", str(future)])
    assert (st, out2, err) == (0, out, "")


def test_a_drop_in_of_one_proto_and_magic(tmp_path):
    # Only the new file: its imports (opts.proto, fown.proto) come from the bundled schema.
    d = tmp_path / "drop"
    d.mkdir()
    (d / "foo-bar.proto").write_text(FOO_BAR_PROTO)
    (d / "magic.h").write_text("#define FOO_BAR_MAGIC %#x\n" % FOO_BAR_MAGIC)
    schema = default_schema(str(d))
    img = {"magic": "FOO_BAR", "entries": [{"id": 3, "fown": {"uid": 1, "euid": 1, "signum": 0,
                                                              "pid_type": 0, "pid": 0}}]}
    data = dumps(img, schema=schema)
    assert loads(data, schema=schema) == img
    assert schema.message("vma_entry") == bundled_schema().message("vma_entry")
    assert schema.image_kind("MM") == bundled_schema().image_kind("MM")
    # An images mapping in the directory wins over the naming convention.
    (d / "images.yaml").write_text("images:\n  FOO_BAR: {entry: foo_bar_alt}\n")
    alt = default_schema(str(d))
    assert alt.image_kind("FOO_BAR").entry == "foo_bar_alt"
    assert loads(data, schema=alt)["entries"] == [{"id": 3, RESERVED_KEY: {"unknown": [
        [3, 2, "CAEQARgAIAAoAA==\n"]]}}]


def test_yaml_schema_dir_works_as_proto_dir(future, tmp_path):
    out = tmp_path / "yaml"
    res = subprocess.run([sys.executable, str(TOOL), str(future), "-o", str(out)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    a, b = default_schema(str(future)), default_schema(str(out))
    assert a.message("vma_entry") == b.message("vma_entry")
    assert a.enum("fd_types") == b.enum("fd_types") and a.magics == b.magics


def test_proto_dir_errors_are_one_line(tmp_path):
    img = str(LOOP / "pstree.img")
    st, out, err = run_cli(["--proto-dir", str(tmp_path / "missing"), "decode", "-i", img])
    assert st == 1 and err == "%s: no such directory\n" % (tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    st, out, err = run_cli(["decode", "--proto-dir", str(tmp_path / "empty"), "-i", img])
    assert st == 1 and len(err.splitlines()) == 1 and "no .proto, magic.h or YAML" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.proto").write_text(
        'syntax = "proto2";\nmessage m {\n  optional nope f = 1;\n}\n')
    st, out, err = run_cli(["decode", "--proto-dir", str(tmp_path / "bad"), "-i", img])
    assert (st, err) == (1, "x.proto:3:3: unknown type 'nope' in m.f\n")


# ------------------------------------------------------------------ cache

def _best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def test_cache_makes_the_second_run_fast(future, tmp_path, monkeypatch):
    colds = []
    for i in range(3):  # every cold run gets an empty cache of its own
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ("cold%d" % i)))
        colds.append(_best(lambda: overlay_bundle(str(future)), 1))
    warm = _best(lambda: overlay_bundle(str(future)))
    uncached = _best(lambda: overlay_bundle(str(future), use_cache=False))
    print("overlay of v4.2+future: cold %.1f ms, warm %.1f ms, no cache %.1f ms"
          % (min(colds) * 1e3, warm * 1e3, uncached * 1e3))
    assert warm * 3 < min(min(colds), uncached)
    assert [p.name[:8] for p in (tmp_path / "cold2" / "critcore").glob("overlay-*")] == ["overlay-"]
    # A second process finds the entry (the key does not depend on the process).
    code = ("import sys, time; from critcore.schema.overlay import overlay_bundle as o; "
            "t = time.perf_counter(); o(sys.argv[1]); print(time.perf_counter() - t)")
    res = subprocess.run([sys.executable, "-c", code, str(future)], capture_output=True, text=True,
                         cwd=str(REPO))
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "cold2" / "critcore").glob("overlay-*"))) == 1


def test_edits_are_picked_up(future, tmp_path):
    vma = future / "images" / "vma.proto"
    def fields():
        return [f.name for f in overlay_schema(str(future)).message("vma_entry").fields]
    assert "future_bits" in fields()
    # The same number of bytes, in the same second: only the content tells the versions apart.
    vma.write_text(vma.read_text().replace("future_bits", "future_bots"))
    assert "future_bots" in fields() and "future_bits" not in fields()
    insert_after(vma, "message vma_entry {\n", "\toptional uint32 extra_field = 31;\n")
    assert "extra_field" in fields()
    (future / "magic.h").write_text((future / "magic.h").read_text().replace(
        "FOO_BAR_MAGIC", "FOO_BAZ_MAGIC"))
    assert "FOO_BAZ" in default_schema(str(future)).magics
    # A cache entry that cannot be read is rebuilt, never trusted.
    for p in (tmp_path / "cache" / "critcore").glob("overlay-*"):
        p.write_text("{broken")
    assert overlay_bundle(str(future))["magic"]["magics"]


def test_a_process_with_a_warm_cache_reads_no_yaml_or_parser(future):
    # Modules the run itself imports (the interpreter's site may preload typing).
    code = ("import sys; before = set(sys.modules); from critcore.schema import default_schema; "
            "default_schema(sys.argv[1]).message('vma_entry'); new = set(sys.modules) - before; "
            "print(sorted(m for m in ('yaml', 'critcore.schema.protoparse', 'typing', 'hashlib', "
            "'dataclasses') if m in new))")
    runs = [subprocess.run([sys.executable, "-c", code, str(future)], capture_output=True,
                           text=True, cwd=str(REPO)) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert "critcore.schema.protoparse" in runs[0].stdout  # the first run parsed
    assert runs[1].stdout.strip() == "[]"


# ------------------------------------------------------------------ schema diff

def test_schema_diff_of_the_future(future):
    text = schema_diff("bundled", str(future))
    assert text.startswith("--- bundled\n+++ %s\n" % future)
    assert "  + foo_bar_entry (foo-bar.proto): 4 field(s)\n" in text
    assert re.search(r"  ~ vma_entry\n +\+ 30: optional uint64 future_bits \[hex\]\n", text)
    assert re.search(r"  ~ pstree_entry\n +\+ 15: repeated uint32 future_ids\n", text)
    assert re.search(r"  ~ fd_types\n +\+ FUTURE_FD = 99\n", text)
    assert "  + FOO_BAR = 0x5a5a1234 (entries: foo_bar_entry)\n" in text
    assert " removed" not in text.replace("0 removed", "")
    assert schema_diff(str(FORMATS / "criu-dev"), "bundled").endswith("no differences\n")
    st, out, err = run_cli(["schema", "diff", "bundled", str(future)])
    assert (st, out.decode(), err) == (0, text, "")


def test_schema_diff_v42_to_bundled_criu_dev():
    # The bundled schema is criu-dev's: a superset of 4.2 with the compressed-pages fields.
    text = schema_diff(str(formats("v4.2")), "bundled")
    assert re.search(r"  ~ pagemap_entry\n +\+ 6: repeated uint32 compressed_size \[packed\]\n"
                     r" +\+ 7: optional uint64 total_compressed_size\n"
                     r" +\+ 8: optional uint32 region_pages\n", text)
    assert re.search(r"  ~ inventory_entry\n +\+ 15: optional uint32 compress\n", text)
    assert " removed" not in text.replace("0 removed", "")


def test_schema_diff_v317_to_v42():
    text = schema_diff(str(formats("v3.17")), str(formats("v4.2")))
    assert "  + pidfd_entry (pidfd.proto): " in text
    assert re.search(r"  ~ file_entry\n +\+ 22: optional pidfd_entry pidfd\n", text)
    assert re.search(r"  ~ pagemap_entry\n +~ 2: required uint32 nr_pages -> required uint32 "
                     r"compat_nr_pages\n", text)
    assert "  + PIDFD = 0x" in text and "(entries: pidfd_entry)" in text


def test_schema_diff_of_a_drop_in_shows_only_its_changes(tmp_path):
    (tmp_path / "pstree.proto").write_text(
        'syntax = "proto2";\nmessage pstree_entry {\n  required uint32 pid = 1;\n'
        '  required uint32 ppid = 2;\n  required uint32 pgid = 3;\n  required uint32 sid = 4;\n'
        '  repeated uint32 threads = 5;\n  optional bool new = 6;\n}\n')
    text = schema_diff("bundled", str(tmp_path))
    assert text.splitlines()[2:] == ["messages: 0 new, 0 removed, 1 changed", "  ~ pstree_entry",
                                     "      + 6: optional bool new"]
    with pytest.raises(CritError):
        schema_diff("bundled", str(tmp_path / "nope"))
