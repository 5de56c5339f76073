"""Hand-made invalid documents, one or more per validation rule: `encode` must list every error
with its exact JSON path, exit 1 and leave the output file alone; `validate` must agree."""
from __future__ import annotations

import copy
import json

import pytest

import critcore
from critcore.errors import EncodeError
from critcore.message import RESERVED_KEY
from critcore.validate import validate

from conftest import DATA, run_cli

IMAGES = {
    "mm": "01-minimal-c-loop/mm-12424.img",
    "core": "01-minimal-c-loop/core-12424.img",
    "pstree": "01-minimal-c-loop/pstree.img",
    "fs": "01-minimal-c-loop/fs-12424.img",
    "pagemap": "01-minimal-c-loop/pagemap-12424.img",
    "files": "04-tcp-sockets/files.img",
    "files2": "02-python-multi/files.img",
    "pipes": "02-python-multi/pipes-data.img",
    "skq": "02-python-multi/sk-queues.img",
    "bpf": "zdtm-bpf_array/bpfmap-data.img",
    "tcp": "04-tcp-sockets/tcp-stream-8584.img",
    "sem": "05a-sysv-ipc-utsns/ipcns-sem-9.img",
    "msg": "05a-sysv-ipc-utsns/ipcns-msg-9.img",
    "shm": "05a-sysv-ipc-utsns/ipcns-shm-9.img",
    "ghost": "03-ghost-files/ghost-file-1.img",
    "chunked": "03-ghost-files/ghost-file-3.img",
}
_CACHE: dict = {}


def doc(name: str, pretty: bool = False) -> dict:
    key = (name, pretty)
    if key not in _CACHE:
        _CACHE[key] = critcore.loads((DATA / IMAGES[name]).read_bytes(), pretty=pretty)
    return copy.deepcopy(_CACHE[key])


def first(entries, want):
    return next(i for i, e in enumerate(entries) if want(e))


def _files_with(kind: str):
    d = doc("files2" if kind == "UNIXSK" else "files", pretty=True)
    i = first(d["entries"], lambda e: e["type"] == kind)
    return d, i


# ---------------------------------------------------------------- the cases
# Each builder returns (document, [(exact path, message fragment), ...]): every listed
# error must be reported, at exactly that path, and nothing else.

def c_bool_string():
    d = doc("mm")
    d["entries"][0]["thp_disabled"] = "false"
    d["entries"][0]["vmas"][0]["fd"] = True
    return d, [("entries[0].thp_disabled", "expected true or false, got a string"),
               ("entries[0].vmas[0].fd", "expected an integer, got a boolean")]


def c_float_for_int():
    d = doc("fs")
    d["entries"][0]["umask"] = 1.9
    return d, [("entries[0].umask", "expected an integer, got a number")]


def c_uint32_range():
    d = doc("fs")
    d["entries"][0]["cwd_id"] = 1 << 32
    d["entries"][0]["root_id"] = -1
    return d, [("entries[0].cwd_id", "4294967296 is out of range for uint32"),
               ("entries[0].root_id", "-1 is out of range for uint32")]


def c_int32_range():
    d = doc("core")
    d["entries"][0]["tc"]["oom_score_adj"] = -(1 << 31) - 1
    d["entries"][0]["tc"]["exit_code"] = "0x100000000"  # uint32
    return d, [("entries[0].tc.exit_code", "4294967296 is out of range for uint32"),
               ("entries[0].tc.oom_score_adj", "-2147483649 is out of range for int32")]


def c_enum_name():
    d = doc("core")
    d["entries"][0]["mtype"] = "X86_65"
    return d, [("entries[0].mtype", "'X86_65' is not a value of enum")]


def c_bad_base64():
    d = doc("pipes")
    d["entries"][0]["extra"] = "not base64!"
    return d, [("entries[0].extra", "invalid base64")]


def c_base64_padding():
    d = doc("skq")
    d["entries"][2]["extra"] = "ZGdyYW0gb25l="  # excess padding
    return d, [("entries[2].extra", "invalid base64")]


def c_unknown_key():
    d = doc("fs")
    d["entries"][0]["umsak"] = 18
    return d, [("entries[0].umsak", "unknown key 'umsak' (not a field of fs_entry)")]


def c_unknown_top_key():
    d = doc("fs")
    d["comment"] = "hand edited"
    return d, [("comment", "unknown key 'comment'")]


def c_missing_required():
    d = doc("pstree")
    del d["entries"][0]["pgid"]
    del d["entries"][0]["sid"]
    return d, [("entries[0].pgid", "required field is missing"),
               ("entries[0].sid", "required field is missing")]


def c_missing_magic():
    d = doc("fs")
    del d["magic"]
    return d, [("magic", "required field is missing")]


def c_unknown_magic():
    d = doc("fs")
    d["magic"] = "FS2"
    return d, [("magic", "'FS2' is not the magic of an image with protobuf entries")]


def c_raw_magic():
    return {"magic": "PAGES", "entries": []}, [("magic", "is not the magic of an image")]


def c_entries_not_array():
    return {"magic": "FS", "entries": {}}, [("entries", "expected an array, got an object")]


def c_entry_not_object():
    d = doc("fs")
    d["entries"].append([1, 2])
    return d, [("entries[1]", "expected an object, got an array")]


def c_pipe_payload_length():
    d = doc("pipes")
    d["entries"][0]["bytes"] = 85
    return d, [("entries[0].extra", "the payload is 84 bytes but bytes says 85")]


def c_skq_payload_length():
    d = doc("skq")
    d["entries"][1]["length"] = 1
    return d, [("entries[1].extra", "the payload is 35 bytes but length says 1")]


def c_bpf_keys_values():
    d = doc("bpf")
    d["entries"][0]["values_bytes"] = 36
    return d, [("entries[0].extra", "is 80 bytes but keys_bytes + values_bytes says 76")]


def c_missing_payload():
    d = doc("pipes")
    del d["entries"][0]["extra"]
    return d, [("entries[0].extra", "required field is missing")]


def c_tcp_inq_len():
    d = doc("tcp")
    d["entries"][0]["inq_len"] += 1
    return d, [("entries[0].extra.inq", "inq is 55 bytes but inq_len says 56")]


def c_tcp_extra_shape():
    d = doc("tcp")
    extra = d["entries"][0]["extra"]
    extra["queue"] = extra.pop("outq")
    return d, [("entries[0].extra.outq", "required field is missing"),
               ("entries[0].extra.queue", "unknown key 'queue'")]


def c_sem_count():
    d = doc("sem")
    d["entries"][0]["extra"].append(7)
    return d, [("entries[0].extra", "4 semaphore values but nsems says 3")]


def c_sem_value():
    d = doc("sem")
    d["entries"][0]["extra"][1] = 70000
    return d, [("entries[0].extra[1]", "out of range")]


def c_msg_msize():
    d = doc("msg")
    d["entries"][0]["extra"][2]["msize"] = 16
    return d, [("entries[0].extra[3]", "the message data is 17 bytes but msize says 16")]


def c_msg_qnum():
    d = doc("msg")
    d["entries"][0]["qnum"] = 4
    return d, [("entries[0].extra", "3 messages but qnum says 4")]


def c_msg_order():
    d = doc("msg")
    ex = d["entries"][0]["extra"]
    ex[0], ex[1] = ex[1], ex[0]
    return d, [("entries[0].extra[0]", "expected an ipc_msg object"),
               ("entries[0].extra[1]", "expected the message's data as base64")]


def c_shm_in_pagemaps_extra():
    d = doc("shm")
    d["entries"][1]["extra"] = "AAAA\n"
    return d, [("entries[1].extra", "an in_pagemaps segment has no inline data")]


def c_shm_size():
    d = doc("shm")
    e = d["entries"][0]
    del e["in_pagemaps"]
    e["extra"] = "AAAA\n"
    return d, [("entries[0].extra", "the segment data is 3 bytes but size says 12288")]


def c_shm_missing_data():
    d = doc("shm")
    d["entries"][0]["in_pagemaps"] = False
    return d, [("entries[0].extra", "required field is missing")]


def c_ghost_chunk_len():
    d = doc("chunked")
    d["entries"][1]["len"] = 10
    return d, [("entries[1].extra", "the chunk data is 65536 bytes but len says 10")]


def c_ghost_unchunked_two_entries():
    d = doc("ghost")
    d["entries"].append({"len": 0, "off": 0, "extra": ""})
    return d, [("entries", "an unchunked ghost file has exactly one entry")]


def c_ghost_chunked_head_extra():
    d = doc("chunked")
    d["entries"][0]["extra"] = ""
    return d, [("entries[0].extra", "a chunked ghost file keeps its data in the chunks")]


def c_ghost_empty():
    return {"magic": "GHOST_FILE", "entries": []}, [("entries", "expected at least 1 item, got 0")]


def c_pagemap_head_missing():
    d = doc("pagemap", pretty=True)
    del d["entries"][0]
    return d, [("entries[0]", "starts with its pagemap_head entry"),
               ("entries[0].pages_id", "required field is missing"),
               ("entries[0].vaddr", "unknown key 'vaddr'"),
               ("entries[0].compat_nr_pages", "unknown key"),
               ("entries[0].flags", "unknown key"),
               ("entries[0].nr_pages", "unknown key")]


def c_flag_name():
    d = doc("mm", pretty=True)
    d["entries"][0]["vmas"][3]["prot"] = "PROT_READ | PROT_BANANA"
    return d, [("entries[0].vmas[3].prot", "'PROT_BANANA' is not a known mmap.prot flag")]


def c_flag_literal_range():
    d = doc("mm", pretty=True)
    d["entries"][0]["vmas"][1]["flags"] = "MAP_PRIVATE | 0x100000000"
    return d, [("entries[0].vmas[1].flags", "flag value 0x100000000 is out of range")]


def c_flag_expression_syntax():
    d = doc("pagemap", pretty=True)
    d["entries"][1]["flags"] = "PE_PRESENT |"
    return d, [("entries[1].flags", "'' is not a known pmap.flags flag")]


def c_hex_bad():
    d = doc("mm", pretty=True)
    d["entries"][0]["vmas"][0]["start"] = "0xzz"
    d["entries"][0]["mm_brk"] = "0x55f850a16000\n"  # no trailing newline, as ECMA-262 "$"
    return d, [("entries[0].mm_brk", "'0x55f850a16000\\n' is not a valid number"),
               ("entries[0].vmas[0].start", "'0xzz' is not a valid number")]


def c_hex_range():
    d = doc("mm", pretty=True)
    d["entries"][0]["vmas"][0]["shmid"] = "0x10000000000000000"
    d["entries"][0]["exe_file_id"] = "0x100000000"
    return d, [("entries[0].exe_file_id", "4294967296 is out of range for uint32"),
               ("entries[0].vmas[0].shmid", "out of range for uint64")]


def c_dict_name():
    d = doc("core", pretty=True)
    d["entries"][0]["tc"]["task_state"] = "Sleeping"
    return d, [("entries[0].tc.task_state", "'Sleeping' is not a valid gen name or number")]


def c_sk_dict_and_ip():
    d, i = _files_with("INETSK")
    isk = d["entries"][i]["isk"]
    isk["family"] = "INET4"
    isk["src_addr"] = ["127.0.0.256"]
    isk["dst_addr"] = ["127.0.0.1", "::1"]
    p = "entries[%d].isk." % i
    return d, [(p + "family", "'INET4' is not a valid sk name or number"),
               (p + "src_addr[0]", "'127.0.0.256' is not an IPv4 or IPv6 address"),
               (p + "dst_addr", "an address in text form is a list of one string")]


def c_dev_string():
    mnt = {"mnt_id": 1, "root_dev": "8", "parent_mnt_id": 0, "flags": 0, "fstype": 1,
           "source": "/dev/sda1", "options": "", "root": "/", "mountpoint": "/"}
    d = {"magic": "MNTS", "entries": [mnt, dict(mnt, mnt_id=2, root_dev="4096:0")]}
    return d, [("entries[0].root_dev", "'8' is not a major:minor device"),
               ("entries[1].root_dev", "major must be at most 4095")]


def c_string_type():
    d = doc("core")
    d["entries"][0]["tc"]["comm"] = 5
    return d, [("entries[0].tc.comm", "expected a string, got an integer")]


def c_lone_surrogate():
    d = doc("core")
    d["entries"][0]["tc"]["comm"] = "loop\ud800"
    return d, [("entries[0].tc.comm", "lone surrogate")]


def c_unix_name_ascii():
    d, i = _files_with("UNIXSK")
    d["entries"][i]["usk"]["name"] = "caf\u00e9"
    return d, [("entries[%d].usk.name" % i, "quoted-printable data is ASCII only")]


def c_reserved_known_number():
    d = doc("fs")
    d["entries"][0][RESERVED_KEY] = {"unknown": [[2, 0, 5]]}
    return d, [("entries[0].%s.unknown[0][0]" % RESERVED_KEY, "field 2 is a known field of fs_entry")]


def c_reserved_wire_type():
    d = doc("fs")
    d["entries"][0][RESERVED_KEY] = {"unknown": [[99, 3, 5]], "packed": ["umask"], "x": 1}
    r = "entries[0].%s." % RESERVED_KEY
    return d, [(r + "unknown[0][1]", "a wire type is 0, 1, 2 or 5"),
               (r + "packed[0]", "'umask' is not a repeated scalar field of fs_entry"),
               (r + "x", "unknown key 'x'")]


def c_extra_on_plain_entry():
    d = doc("fs")
    d["entries"][0]["extra"] = ""
    return d, [("entries[0].extra", "unknown key 'extra'")]


def c_ip_words_type():
    d, i = _files_with("INETSK")
    d["entries"][i]["isk"]["src_addr"] = [1, "x"]
    return d, [("entries[%d].isk.src_addr[1]" % i, "'x' is not a valid number")]


def c_nesting_too_deep():
    top = d = {"dir_name": "/"}
    for _ in range(100):  # 101 levels of cgroup_dir_entry: one more than protobuf allows
        d["children"] = [{"dir_name": "x"}]
        d = d["children"][0]
    img = {"magic": "CGROUP", "entries": [{"controllers": [{"cnames": ["cpu"], "dirs": [top]}]}]}
    return img, [("entries[0].controllers[0].dirs[0]" + ".children[0]" * 100,
                  "cgroup_dir_entry messages nested more than 100 levels deep")]


def c_many_errors_in_order():
    d = doc("mm", pretty=True)
    e = d["entries"][0]
    e["vmas"][5]["prot"] = "PROT_NONE"
    e["vmas"][1]["status"] = 1.5
    del e["vmas"][3]["end"]
    e["thp_disabled"] = "yes"
    return d, [("entries[0].vmas[1].status", "expected an integer"),
               ("entries[0].vmas[3].end", "required field is missing"),
               ("entries[0].vmas[5].prot", "'PROT_NONE' is not a known mmap.prot flag"),
               ("entries[0].thp_disabled", "expected true or false")]


CASES = [(name[2:], fn) for name, fn in sorted(globals().items()) if name.startswith("c_")]


@pytest.fixture(params=[fn for _, fn in CASES], ids=[n for n, _ in CASES])
def case(request):
    return request.param()


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def _reported(err: str, label: str):
    lines = err.splitlines()
    assert lines and all(line.startswith(label + ": ") for line in lines), err
    return lines


def test_encode_lists_every_error_and_writes_nothing(case, tmp_path):
    d, expected = case
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(d))
    out = tmp_path / "out.img"
    out.write_bytes(b"keep me")
    st, stdout, err = run_cli(["encode", "-i", str(src), "-o", str(out)])
    assert st == 1 and stdout == b"" and "Traceback" not in err
    assert out.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json", "out.img"]
    lines = _reported(err, "doc.json")
    got = [line[len("doc.json: "):] for line in lines]
    for path, fragment in expected:
        hits = [g for g in got if g.startswith(path + ": ")]
        assert hits, "no error at %s in:\n%s" % (path, err)
        assert any(fragment in h for h in hits), "at %s: %r not in %s" % (path, fragment, hits)
    assert len(got) == len(expected), err
    # The encoder's own (first) error is one of them, at the same path.
    with pytest.raises(EncodeError) as ei:
        critcore.dumps(d)
    assert ei.value.path in [p for p, _ in expected]


def test_validate_command_agrees(case, tmp_path):
    d, expected = case
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(d))
    for extra in ([], ["--full"]):
        st, stdout, err = run_cli(["validate"] + extra + [str(src)])
        assert st == 1 and stdout == b""
        assert len(_reported(err, "doc.json")) == len(expected)
    assert len(validate(d)) == len(expected)


def test_errors_come_in_document_order():
    d, expected = c_many_errors_in_order()
    d["entries"][0]["mm_start_code"] = "start"
    got = [e.path for e in validate(d)]
    assert got == ["entries[0].mm_start_code"] + [p for p, _ in expected]


def test_errors_are_capped(tmp_path):
    d = doc("mm")
    for v in d["entries"][0]["vmas"][:30]:
        v["prot"] = "PROT_X"
    src = tmp_path / "many.json"
    src.write_text(json.dumps(d))
    st, _, err = run_cli(["encode", "-i", str(src)])
    lines = err.splitlines()
    assert st == 1 and len(lines) == 21
    assert lines[0] == "many.json: entries[0].vmas[0].prot: 'PROT_X' is not a known mmap.prot flag"
    assert lines[19].startswith("many.json: entries[0].vmas[19].prot: ")
    assert "more errors left out" in lines[20]


def test_no_validate_lets_sizes_and_required_fields_through(tmp_path):
    d = doc("pipes")
    d["entries"][0]["bytes"] = 3   # payload of 84 bytes: written anyway
    del d["entries"][0]["size"]    # not required, stays out
    del d["entries"][0]["pipe_id"]  # required
    src = tmp_path / "p.json"
    src.write_text(json.dumps(d))
    st, _, err = run_cli(["encode", "-i", str(src)])
    assert st == 1 and len(err.splitlines()) == 2
    st, out, err = run_cli(["encode", "--no-validate", "-i", str(src)])
    assert st == 0 and err == ""
    # What crit would have written: decoding it reads 3 bytes of payload, then garbage.
    assert len(out) > 84
    # Values without a binary form are still refused, first error only.
    d["entries"][0]["bytes"] = "many"
    d["entries"][0]["extra"] = "!!"
    src.write_text(json.dumps(d))
    st, _, err = run_cli(["encode", "--no-validate", "-i", str(src)])
    assert st == 1 and err == "p.json: entries[0].bytes: 'many' is not a valid number\n"


def test_valid_documents_in_every_form_are_accepted(tmp_path):
    # Numbers for enums the schema does not know, hex and decimal strings, pretty and plain.
    d = doc("core")
    d["entries"][0]["mtype"] = 77
    d["entries"][0]["tc"]["exit_code"] = "0x0"
    d["entries"][0]["tc"]["flags"] = "4194560"
    d["entries"][0]["tc"]["task_state"] = 1.0
    assert validate(d) == [] and critcore.dumps(d)
    src = tmp_path / "ok.json"
    src.write_text(json.dumps(d))
    st, out, err = run_cli(["validate", str(src)])
    assert st == 0 and err == "" and out == b"ok.json: valid CORE image, 1 entries\n"
