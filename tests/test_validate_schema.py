"""The generated JSON Schemas: valid Draft 2020-12 for every image kind, patterns exactly as
strict as the encoder's parsers, jsonschema imported only when needed, and the schema command."""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import random
import re
import subprocess
import sys

import pytest

import critcore
from critcore.errors import CritError
from critcore.message import forms
from critcore.schema import default_schema
from critcore.validate import Validator, all_image_schemas, image_schema, validate
from critcore.validate import patterns

from conftest import REPO, run_cli


def ecma(pattern: str):
    """A pattern as JSON Schema (ECMA-262) reads it: "$" is the very end."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def test_every_image_kind_has_a_valid_schema():
    from jsonschema import Draft202012Validator
    schema = default_schema()
    docs = all_image_schemas(schema)
    assert sorted(docs) == sorted(k.name for k in schema.image_kinds()) and len(docs) > 60
    # The meta-schema check is slow (seconds for every message of every kind): it covers
    # every image's top level, every non-message def, and all defs of kinds using each layout.
    sample = {"MM", "FILES", "PAGEMAP", "GHOST_FILE", "TCP_STREAM", "PIPES_DATA",
              "IPCNS_MSG", "IPCNS_SEM", "IPCNS_SHM"}
    every_def, seen = {}, {}
    for magic, doc in docs.items():
        for name, d in doc["$defs"].items():
            assert seen.setdefault(name, d) == d, name  # one def per name across kinds
            if d.get("type") == "object":
                assert d["additionalProperties"] is False, name
            if magic in sample or d.get("type") != "object" or ":" in name:
                every_def[name] = d
        every_def["image:" + magic] = {k: v for k, v in doc.items() if k != "$defs"}
        assert doc["properties"]["magic"] == {"const": magic}
        assert doc["additionalProperties"] is False
    Draft202012Validator.check_schema({"$schema": doc["$schema"], "$defs": every_def})
    assert image_schema(schema, "PAGES") is None


def test_schema_shapes():
    doc = image_schema(default_schema(), "PIPES_DATA")
    entry = doc["$defs"]["payload:pipe_data_entry"]
    assert entry["required"][-1] == "extra" and "extra" in entry["properties"]
    assert "extra" not in doc["$defs"].get("pipe_data_entry", {"properties": {}})["properties"]
    mm = image_schema(default_schema(), "MM")["$defs"]
    vma = mm["vma_entry"]
    assert vma["required"] == ["start", "end", "pgoff", "shmid", "prot", "flags", "status", "fd"]
    assert set(vma["properties"]["__critcore__"]["properties"]) == {"unknown", "packed",
                                                                    "unpacked"}
    assert mm["uint64"]["type"] == ["integer", "string"]
    assert mm["uint64"]["maximum"] == 2 ** 64 - 1


@pytest.mark.parametrize("lo, hi", [(0, 2 ** 32 - 1), (0, 2 ** 64 - 1), (-2 ** 31, 2 ** 31 - 1),
                                    (-2 ** 63, 2 ** 63 - 1), (0, 255), (0, 0), (0, 4095)])
def test_integer_patterns_match_parser_and_range(lo, hi):
    rng = random.Random(hi)
    pat = ecma(patterns.int_pattern(lo, hi))
    parse = forms.int_parser(lo < 0)
    edges = [lo, hi, hi + 1, lo - 1, 0, 1, -1, hi // 2, 2 ** 64, -2 ** 63 - 1]
    for _ in range(3000):
        v = rng.choice(edges + [rng.randrange(lo - 5, hi + 5), rng.getrandbits(70) - 2 ** 69])
        forms_ = ["%d" % v, "%#x" % v if v >= 0 else "-%#x" % -v, "0x-%x" % abs(v),
                  "%#X" % v if v >= 0 else "x", "00%d" % abs(v), "0x00%x" % abs(v)]
        junk = "".join(rng.choice("0123456789abcxX-+ _\n") for _ in range(rng.randrange(6)))
        for s in forms_ + [junk, str(v) + "\n", " %d" % v]:
            try:
                ok = lo <= parse(s) <= hi
            except CritError:
                ok = False
            assert bool(pat.search(s)) == ok, (s, lo, hi)


def test_flag_dev_and_name_patterns_match_parsers():
    schema = default_schema()
    table = schema.flags["mmap.prot"]
    fpat, fparse = ecma(patterns.flags_pattern(table, 2 ** 32 - 1)), forms.flags_parser(
        table, "mmap.prot", 2 ** 32 - 1)
    rng = random.Random(1)
    atoms = ["PROT_READ", "PROT_WRITE", "PROT_EXEC", "0x10", "0x100000000", "7", "PROT_X", "",
             " ", "|", "  |  ", "prot_read", "0xffffffff", "-1", "\t"]
    for _ in range(5000):
        s = "".join(rng.choice(atoms) for _ in range(rng.randrange(5)))
        try:
            fparse(s)
            ok = True
        except CritError:
            ok = False
        assert bool(fpat.search(s)) == ok, s
    for old in (False, True):
        dpat = ecma(patterns.dev_pattern(old, 2 ** 32 - 1))
        for s in ["8:1", "4095:1048575", "4096:0", "0:1048576", "08:001", "8:", ":1", "8:1:2",
                  "-8:1", "8 :1", "0x8:1", "4095:1048575\n", "\u0668:1"]:
            try:
                forms.parse_dev(s, old, 2 ** 32 - 1)
                ok = True
            except CritError:
                ok = False
            assert bool(dpat.search(s)) == ok, s


def test_base64_and_ip_patterns_match_the_decoders():
    b64 = ecma(patterns.whole(forms.BASE64))
    rng = random.Random(2)
    for _ in range(20000):
        s = "".join(rng.choice("AB+/=\n") for _ in range(rng.randrange(10)))
        try:
            raw = base64.b64decode(s.replace("\n", ""), validate=True)
            python_ok = True
        except binascii.Error:
            python_ok = False
        try:
            forms.check_base64(s)
            ok = True
        except CritError:
            ok = False
        assert bool(b64.search(s)) == ok, s
        assert python_ok or not ok, s  # never looser than Python's strict decoder
        if ok:
            assert binascii.a2b_base64(forms.check_base64(s)) == raw
    ip = ecma(patterns.anchored([forms.IPV4, forms.IPV6]))
    samples = ["1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "::", "::1",
               "fe80::1", "fe80::1%eth0", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
               "1::2::3", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6::1.2.3.4", "A::B", "12345::",
               "1.2.3.4\n"]
    for _ in range(3000):
        a = ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 64, 96, 112]))
        samples += [a.compressed, a.exploded, str(ipaddress.IPv4Address(rng.getrandbits(32)))]
    for s in samples:
        ok = forms.parse_ip(s) is not None
        assert bool(ip.search(s)) == ok, s
        if ok:
            assert forms.parse_ip(s) == int(ipaddress.ip_address(s))


def test_exported_schema_gives_the_same_answers_as_the_inlined_one():
    # The validator inlines $refs for speed; the exported schema must mean the same.
    from test_validate_invalid import CASES
    v = Validator.of()
    for name, case in CASES:
        d, _ = case()
        kind = d.get("magic")
        if default_schema().image_kind(kind) is None:
            continue
        plain = v._validator_class()(v.json_schema(kind))  # ECMA "$", $refs as exported
        inlined = v.jsonschema_validator(kind)
        key = lambda e: (list(e.absolute_path), e.validator)  # noqa: E731
        assert sorted(map(key, plain.iter_errors(d)), key=str) == \
            sorted(map(key, inlined.iter_errors(d)), key=str), name


def test_jsonschema_is_imported_only_on_failure(tmp_path):
    img = REPO / "tests" / "data" / "01-minimal-c-loop" / "core-12424.img"
    good = tmp_path / "good.json"
    bad = tmp_path / "bad.json"
    code = ("import sys; from critcore.cli import main; s = main(sys.argv[1:]); "
            "print('jsonschema' in sys.modules, s, file=sys.stderr)")

    def run(*argv):
        p = subprocess.run([sys.executable, "-c", code] + list(argv), cwd=str(REPO),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.stderr.strip().splitlines()[-1]
    assert run("decode", "-i", str(img), "-o", str(good)) == "False 0"
    assert run("encode", "-i", str(good), "-o", str(tmp_path / "x.img")) == "False 0"
    assert run("validate", "-q", str(good)) == "False 0"
    assert run("validate", "-q", "--full", str(good)) == "True 0"  # the whole JSON Schema
    bad.write_text(good.read_text().replace('"mtype": "X86_64"', '"mtype": "X86"'))
    assert run("encode", "-i", str(bad), "-o", str(tmp_path / "y.img")) == "True 1"


def test_schema_command(tmp_path):
    st, out, err = run_cli(["schema", "VMAS"])
    assert st == 0 and err == ""
    doc = json.loads(out)
    assert doc["$id"] == "urn:critcore:image:VMAS" and doc["$schema"].endswith("2020-12/schema")
    st, out, err = run_cli(["schema", "--all", "-o", str(tmp_path / "schemas")])
    assert st == 0 and out == b"" and err == ""
    files = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert len(files) == len(default_schema().image_kinds()) and "MM.schema.json" in files
    assert json.loads((tmp_path / "schemas" / "MM.schema.json").read_text()) == \
        image_schema(default_schema(), "MM")
    for argv in (["schema", "BANANA"], ["schema"], ["schema", "--all"], ["schema", "MM", "CORE"]):
        st, out, err = run_cli(argv)
        assert st == 1 and len(err.splitlines()) == 1 and "Traceback" not in err


def test_schema_diff_is_delegated():
    st, out, err = run_cli(["schema", "diff", "bundled"])
    assert st == 1 and err.startswith("usage: critcore schema diff OLD NEW")
    try:
        import critcore.schema.diff  # noqa: F401
    except ImportError:
        pytest.skip("critcore.schema.diff is not there yet")
    st, out, err = run_cli(["schema", "diff", "bundled", "bundled"])
    assert st == 0, err


def test_validation_needs_no_schema_file(tmp_path):
    # The schema is generated at run time from the descriptors: nothing is committed.
    assert not list((REPO / "schema").glob("*.schema.json"))
    assert validate(critcore.loads((REPO / "tests/data/01-minimal-c-loop/fs-12424.img")
                                            .read_bytes())) == []
