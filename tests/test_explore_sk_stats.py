"""Tests of `x sk`, `stats` and `--json` on real checkpoints: each value shown is checked against
the images decoded on their own (critcore.api.loads), every --json document against its schema."""
from __future__ import annotations

import json
import quopri
import shutil

import pytest

from conftest import DATA, DATA_X, REPO, SHARED_CORPUS, SHARED_X, expect_error, run_cli
from critcore import api
from critcore.explore import EXPLORERS, Checkpoint, as_plain, explore_stats

SCHEMA_PATH = REPO / "docs" / "json-output.schema.json"
SK_HEADER = ["FAMILY", "TYPE", "PROTO", "STATE", "RECV-Q", "SEND-Q", "LOCAL", "PEER", "INODE",
             "PID/FD"]


# -- helpers ----------------------------------------------------------------------------

def checkpoint(name, need=("pstree.img",)):
    """tests/data/NAME when it holds `need`, else the shared corpus's copy, else skip."""
    for root in (DATA, SHARED_CORPUS):
        if root is not None and all((root / name / n).exists() for n in need):
            return root / name
    pytest.skip("checkpoint %s not available" % name)


def copy_checkpoint(d, tmp_path):
    dst = tmp_path / d.name
    shutil.copytree(str(d), str(dst), ignore=shutil.ignore_patterns("golden", "pages-*"))
    for p in dst.iterdir():  # corpus files are read-only; the tests rewrite some
        p.chmod(0o644)
    return dst


def load(d, name, **kw):
    return api.loads((d / name).read_bytes(), **kw)["entries"]


_validators = {}


def validate(doc, what):
    """Check `doc` against docs/json-output.schema.json#/$defs/<what>."""
    if what not in _validators:
        import jsonschema  # lazily, as the library would: it costs ~200 ms to import
        schema = json.loads(SCHEMA_PATH.read_text())
        sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + what}
        _validators[what] = jsonschema.Draft202012Validator(sub)
    errors = sorted(_validators[what].iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "%s: %s at %s" % (what, errors[0].message, list(errors[0].path))


def cli_ok(argv):
    status, out, err = run_cli(argv)
    assert status == 0, err
    assert err == ""
    return out.decode()


def x_json(d, what):
    doc = json.loads(cli_ok(["x", str(d), what, "--json"]))
    validate(doc, "x-" + what)
    return doc


def sk_rows(d):
    """--json rows by socket id, and the text table as lists of cells (split on blanks)."""
    rows = {r["id"]: r for r in x_json(d, "sk")}
    text = cli_ok(["x", str(d), "sk"]).splitlines()
    assert text[0].split() == SK_HEADER
    return rows, [line.split() for line in text[1:]]


def text_row(table, ino):
    found = [cells for cells in table if cells[-2] == str(ino)]
    assert len(found) == 1, (ino, table)
    return found[0]


def files_of(d, ftype, field):
    return [f[field] for f in load(d, "files.img") if f["type"] == ftype]


def owners_from_fdinfo(d):
    """file id -> [(pid, fd)], from pstree, ids and fdinfo images read directly."""
    held = {}
    for p in load(d, "pstree.img"):
        files_id = load(d, "ids-%d.img" % p["pid"])[0]["files_id"]
        for fd in load(d, "fdinfo-%d.img" % files_id):
            held.setdefault(fd["id"], []).append({"pid": p["pid"], "fd": fd["fd"]})
    return held


# -- x sk: INET ---------------------------------------------------------------------------

def test_sk_tcp_udp_ipv4_ipv6():
    d = checkpoint("04-tcp-sockets", ("pstree.img", "tcp-stream-8589.img"))
    rows, table = sk_rows(d)
    # pretty decoding names the numbers and writes the addresses, independently of x sk
    pretty = {f["isk"]["id"]: f["isk"] for f in load(d, "files.img", pretty=True)
              if f["type"] == "INETSK"}
    assert len(pretty) == 12
    for sid, e in pretty.items():
        r = rows[sid]
        assert (r["family"], r["type"], r["proto"], r["state"]) == \
            (e["family"], e["type"], e["proto"], e["state"])
        assert (r["src_addr"], r["src_port"]) == (e["src_addr"][0], e["src_port"])
        assert (r["dst_addr"], r["dst_port"]) == (e["dst_addr"][0], e["dst_port"])
        assert r["ino"] == e["ino"] and r["backlog"] == e["backlog"]
    # what the scenario set up: listeners on 127.0.0.1:42809 and [::1]:42810, UDP on 42811
    listen4 = next(r for r in rows.values() if r["state"] == "LISTEN" and r["family"] == "INET")
    assert (listen4["src_addr"], listen4["src_port"], listen4["backlog"]) == \
        ("127.0.0.1", 42809, 8)
    listen6 = next(r for r in rows.values() if r["state"] == "LISTEN" and r["family"] == "INET6")
    assert (listen6["src_addr"], listen6["src_port"], listen6["backlog"]) == ("::1", 42810, 4)
    assert text_row(table, listen6["ino"])[:8] == \
        ["INET6", "STREAM", "TCP", "LISTEN", "-", "-", "[::1]:42810", "[::]:*"]
    assert text_row(table, listen4["ino"])[6:8] == ["127.0.0.1:42809", "0.0.0.0:*"]
    states = sorted(r["state"] for r in rows.values() if r["proto"] == "TCP")
    assert states == ["CLOSE", "CLOSE_WAIT", "ESTABLISHED", "ESTABLISHED", "ESTABLISHED",
                      "ESTABLISHED", "FIN_WAIT2", "LISTEN", "LISTEN"]
    udp = sorted((r["src_port"], r["dst_port"], r["state"]) for r in rows.values()
                 if r["proto"] == "UDP" and r["family"] == "INET")
    assert udp == [(42811, 0, "CLOSE"), (51781, 42811, "ESTABLISHED")]
    # both ends of each connection are in the dump, mirrored
    conns = {(r["src_addr"], r["src_port"], r["dst_addr"], r["dst_port"])
             for r in rows.values() if r["proto"] == "TCP" and r["dst_port"]}
    assert len(conns) == 6
    assert all((da, dp, sa, sp) in conns for sa, sp, da, dp in conns)


def test_sk_tcp_queues_from_tcp_stream():
    d = checkpoint("04-tcp-sockets", ("pstree.img", "tcp-stream-8589.img"))
    rows, table = sk_rows(d)
    by_ino = {r["ino"]: r for r in rows.values()}
    streams = sorted(d.glob("tcp-stream-*.img"))
    assert len(streams) == 6
    for p in streams:
        ino = int(p.name[len("tcp-stream-"):-len(".img")], 16)  # CRIU names them in hex
        ts = load(d, p.name, no_payload=True)[0]
        r = by_ino[ino]
        assert (r["recv_q"], r["send_q"]) == (ts["inq_len"], ts["outq_len"])
        assert text_row(table, ino)[4:6] == [str(ts["inq_len"]), str(ts["outq_len"])]
    # 55 bytes the server had not read yet, 28 on the client; a half-closed pair with 4
    est = {(r["src_port"], r["dst_port"]): r["recv_q"] for r in rows.values()
           if r["proto"] == "TCP" and r["family"] == "INET" and r["dst_port"]}
    assert est == {(42809, 33596): 55, (33596, 42809): 28, (42809, 33610): 4, (33610, 42809): 0}
    # no tcp-stream image for listening, closed and UDP sockets: no queue sizes
    assert all(r["recv_q"] is None and r["send_q"] is None for r in rows.values()
               if r["ino"] not in {int(p.name[11:-4], 16) for p in streams}
               and r["family"] in ("INET", "INET6"))


def test_sk_owners_and_other_families():
    d = checkpoint("04-tcp-sockets", ("pstree.img", "tcp-stream-8589.img"))
    rows, table = sk_rows(d)
    held = owners_from_fdinfo(d)
    sockets = {f["id"] for f in load(d, "files.img")
               if f["type"] in ("INETSK", "UNIXSK", "NETLINKSK", "PACKETSK")}
    assert set(rows) == sockets
    for sid, r in rows.items():
        assert r["owners"] == held.get(sid, [])
    # the listener was inherited: both tasks hold it as fd 3
    listen4 = next(r for r in rows.values() if r["src_port"] == 42809 and r["state"] == "LISTEN")
    assert listen4["owners"] == [{"pid": 22809, "fd": 3}, {"pid": 22810, "fd": 3}]
    assert text_row(table, listen4["ino"])[-1] == "22809/3,22810/3"
    nl = files_of(d, "NETLINKSK", "nlsk")[0]
    r = rows[nl["id"]]
    assert (r["family"], r["proto"], r["portid"], r["ino"]) == ("NETLINK", "0", 22809, nl["ino"])
    assert r["state"] == "CLOSE" and nl["state"] == 7
    pk = files_of(d, "PACKETSK", "psk")[0]
    r = rows[pk["id"]]
    assert pk["protocol"] == 768  # htons(ETH_P_ALL)
    assert (r["family"], r["type"], r["proto"], r["ino"], r["ifindex"]) == \
        ("PACKET", "RAW", "0x0003", None, 0)


def test_sk_zdtm_socket_tcp():
    d = checkpoint("zdtm-socket-tcp")
    rows, table = sk_rows(d)
    isks = files_of(d, "INETSK", "isk")
    assert len(rows) == len(isks) == 2
    listen = next(r for r in rows.values() if r["state"] == "LISTEN")
    est = next(r for r in rows.values() if r["state"] == "ESTABLISHED")
    assert (listen["src_addr"], listen["src_port"], listen["backlog"]) == ("0.0.0.0", 8880, 1)
    assert (est["src_addr"], est["src_port"], est["dst_addr"]) == ("127.0.0.1", 8880, "127.0.0.1")
    assert est["dst_port"] == next(e["dst_port"] for e in isks if e["state"] == 1) == 57034
    ts = load(d, "tcp-stream-%x.img" % est["ino"], no_payload=True)[0]
    assert "tcp-stream-%x.img" % est["ino"] == "tcp-stream-bdd8.img"
    assert (est["recv_q"], est["send_q"]) == (ts["inq_len"], ts["outq_len"]) == (0, 0)
    assert listen["recv_q"] is None
    assert text_row(table, est["ino"])[3:8] == \
        ["ESTABLISHED", "0", "0", "127.0.0.1:8880", "127.0.0.1:57034"]
    assert est["owners"] == owners_from_fdinfo(d)[est["id"]]


def test_sk_zdtm_socket_udp():
    d = checkpoint("zdtm-socket_udp")
    rows, table = sk_rows(d)
    isks = {e["id"]: e for e in files_of(d, "INETSK", "isk")}
    assert set(rows) == set(isks)
    got = sorted((r["proto"], r["type"], r["src_port"], r["dst_port"], r["state"])
                 for r in rows.values())
    assert got == [("UDP", "DGRAM", 8880, 0, "CLOSE"), ("UDP", "DGRAM", 8881, 8880, "ESTABLISHED")]
    for sid, r in rows.items():
        assert (r["src_port"], r["dst_port"], r["ino"]) == \
            (isks[sid]["src_port"], isks[sid]["dst_port"], isks[sid]["ino"])
        assert r["recv_q"] is None and r["send_q"] is None  # CRIU keeps no UDP queues
    client = next(r for r in rows.values() if r["src_port"] == 8881)
    assert text_row(table, client["ino"])[6:8] == ["127.0.0.1:8881", "127.0.0.1:8880"]


# -- x sk: UNIX, NETLINK, PACKET ------------------------------------------------------------

def test_sk_unix_zdtm_sockets00():
    d = checkpoint("zdtm-sockets00")
    rows, table = sk_rows(d)
    usks = {e["id"]: e for e in files_of(d, "UNIXSK", "usk")}
    assert set(rows) == set(usks) and len(rows) == 4
    path = "/tmp/criu-src/test/zdtm/static/sockets00.test"
    for sid, r in rows.items():
        e = usks[sid]
        raw_name = quopri.decodestring(e["name"].encode()).rstrip(b"\0").decode()
        assert (r["family"], r["proto"], r["ino"], r["peer"], r["name"]) == \
            ("UNIX", None, e["ino"], e["peer"], raw_name)
        assert r["type"] == "STREAM" and e["type"] == 1
    listener = next(r for r in rows.values() if r["state"] == "LISTEN")
    assert (listener["name"], listener["peer"], listener["backlog"]) == (path, 0, 16)
    # an accepted pair points at each other; the client that connected points at the listener
    by_ino = {r["ino"]: r for r in rows.values()}
    pairs = [r for r in rows.values() if r["peer"] in by_ino and r["peer"] != listener["ino"]]
    assert len(pairs) == 2 and all(by_ino[r["peer"]]["peer"] == r["ino"] for r in pairs)
    assert sum(r["peer"] == listener["ino"] for r in rows.values()) == 1
    assert text_row(table, listener["ino"])[:8] == \
        ["UNIX", "STREAM", "-", "LISTEN", "0", "-", path, "*"]
    assert all(r["recv_q"] == 0 for r in rows.values())  # no sk-queues.img: nothing queued
    assert {sid: r["owners"] for sid, r in rows.items()} == \
        {sid: owners_from_fdinfo(d).get(sid, []) for sid in rows}


def test_sk_unix_queues_and_abstract_names():
    d = checkpoint("02-python-multi", ("pstree.img", "ids-22107.img", "sk-queues.img"))
    rows, table = sk_rows(d)
    queued = {}
    for pkt in load(d, "sk-queues.img", no_payload=True):
        queued[pkt["id_for"]] = queued.get(pkt["id_for"], 0) + pkt["length"]
    usks = files_of(d, "UNIXSK", "usk")
    assert any(queued.values())
    for e in usks:
        assert rows[e["id"]]["recv_q"] == queued.get(e["id"], 0)
    abstract = next(r for r in rows.values() if r["name"].startswith("@"))
    assert abstract["name"] == "@corpus-abstract-22107" and abstract["state"] == "CLOSE"
    assert text_row(table, abstract["ino"])[6] == "@corpus-abstract-22107"


def test_sk_unix_deleted_name():
    d = checkpoint("zdtm-sk-unix-dgram-ghost")
    rows, table = sk_rows(d)
    usks = {e["id"]: e for e in files_of(d, "UNIXSK", "usk")}
    assert {sid for sid, e in usks.items() if e.get("deleted")} == \
        {sid for sid, r in rows.items() if r["deleted"]} != set()
    ghost = next(r for r in rows.values() if r["deleted"])
    assert ghost["name"].endswith("/sk-unix-dgram-ghost.test/sk")
    line = next(cells for cells in table if str(ghost["ino"]) in cells)
    assert line[6:8] == [ghost["name"], "(deleted)"]
    # the other ten are connected to it, one per task
    assert sorted(r["peer"] for r in rows.values() if not r["deleted"]) == [ghost["ino"]] * 10


def test_sk_netlink():
    d = checkpoint("zdtm-sk-netlink")
    rows, table = sk_rows(d)
    nls = {e["id"]: e for e in files_of(d, "NETLINKSK", "nlsk")}
    assert set(rows) == set(nls) and len(rows) == 4
    for sid, r in rows.items():
        e = nls[sid]
        assert (r["family"], r["type"], r["proto"]) == ("NETLINK", None, str(e["protocol"]))
        assert (r["ino"], r["portid"], r["dst_portid"], r["dst_group"]) == \
            (e["ino"], e["portid"], e["dst_portid"], e["dst_group"])
    connected = next(r for r in rows.values() if r["dst_portid"])
    assert (connected["state"], connected["dst_portid"], connected["dst_group"]) == \
        ("ESTABLISHED", 71, 32)
    assert text_row(table, connected["ino"])[:8] == \
        ["NETLINK", "-", "15", "ESTABLISHED", "-", "-", str(connected["portid"]), "71"]
    # 7 (TCP_CLOSE): bound but never connected; 0: unbound, no diag data
    assert sorted(r["state"] for r in rows.values()) == ["0", "CLOSE", "CLOSE", "ESTABLISHED"]


def test_sk_packet():
    d = checkpoint("zdtm-packet_sock")
    rows, table = sk_rows(d)
    psks = {e["id"]: e for e in files_of(d, "PACKETSK", "psk")}
    assert set(rows) == set(psks) and len(rows) == 2
    got = sorted((r["type"], r["proto"], r["ifindex"]) for r in rows.values())
    assert got == [("DGRAM", "0x0800", 1), ("RAW", "0x0000", 0)]  # ETH_P_IP on lo; none
    assert all(r["ino"] is None and r["state"] is None for r in rows.values())
    assert sorted(cells[6] for cells in table) == ["*", "ifindex=1"]


# -- x sk: legacy per-type images --------------------------------------------------------------

def test_sk_legacy_images(tmp_path):
    d = checkpoint("04-tcp-sockets", ("pstree.img", "tcp-stream-8589.img"))
    want = x_json(d, "sk")
    dst = copy_checkpoint(d, tmp_path)
    files = load(dst, "files.img")
    (dst / "files.img").unlink()
    for ftype, field, magic, name in (("INETSK", "isk", "INETSK", "inetsk.img"),
                                      ("NETLINKSK", "nlsk", "NETLINK_SK", "netlinksk.img"),
                                      ("PACKETSK", "psk", "PACKETSK", "packetsk.img")):
        entries = [f[field] for f in files if f["type"] == ftype]
        assert entries
        (dst / name).write_bytes(api.dumps({"magic": magic, "entries": entries}))
    got = x_json(dst, "sk")
    assert sorted(got, key=lambda r: r["id"]) == sorted(want, key=lambda r: r["id"])


def test_sk_files_img_and_legacy_mixed(tmp_path):
    """Sockets missing from files.img are taken from the legacy image, the others not twice."""
    d = checkpoint("zdtm-sockets00")
    want = x_json(d, "sk")
    dst = copy_checkpoint(d, tmp_path)
    files = load(dst, "files.img")
    usks = [f for f in files if f["type"] == "UNIXSK"]
    keep = [f for f in files if f["id"] != usks[0]["id"]]
    (dst / "files.img").write_bytes(api.dumps({"magic": "FILES", "entries": keep}))
    (dst / "unixsk.img").write_bytes(
        api.dumps({"magic": "UNIXSK", "entries": [f["usk"] for f in usks]}))
    got = x_json(dst, "sk")
    assert len(got) == len(want)
    assert sorted(got, key=lambda r: r["id"]) == sorted(want, key=lambda r: r["id"])


# -- stats ----------------------------------------------------------------------------------

def stats_json(d):
    doc = json.loads(cli_ok(["stats", str(d), "--json"]))
    validate(doc, "stats")
    return doc


@pytest.mark.parametrize("name", ["04-tcp-sockets", "zdtm-sockets00", "zdtm-socket-tcp",
                                  "zdtm-socket_udp", "zdtm-sk-netlink"])
def test_stats_dump(name):
    d = checkpoint(name, ("stats-dump",))
    dump = load(d, "stats-dump")[0]["dump"]
    doc = stats_json(d)
    for key, value in dump.items():
        ours = key + "_us" if key.endswith("_time") or key == "irmap_resolve" else key
        assert doc["dump"][ours] == value, key
    assert doc["restore"] is None and doc["downtime_us"] is None
    text = cli_ok(["stats", str(d)])
    assert "restore (stats-restore): none" in text
    lines = {line[:36].strip(): line[36:] for line in text.splitlines()}
    assert lines["pages scanned"].split()[0] == str(dump["pages_scanned"])
    assert lines["pages written"].split()[0] == str(dump["pages_written"])
    assert lines["pages skipped (in parent)"] == str(dump["pages_skipped_parent"])
    assert lines["shmem pages written"].split()[0] == str(dump["shpages_written"])


def test_stats_04_tcp_sockets_values():
    d = checkpoint("04-tcp-sockets", ("stats-dump",))
    text = cli_ok(["stats", str(d)])
    dump = load(d, "stats-dump")[0]["dump"]
    assert (dump["frozen_time"], dump["pages_scanned"], dump["pages_written"]) == (65773, 81, 54)
    assert "  frozen time                       65.77 ms\n" in text
    assert "  freezing time                     361 us\n" in text
    assert "  memory dump time                  4.74 ms\n" in text
    assert "  pages written                     54 (216 KiB)\n" in text
    assert "  pages lazy                        0\n" in text


def write_stats(path, part, values):
    path.write_bytes(api.dumps({"magic": "STATS", "entries": [{part: values}]}))


RESTORE = {"pages_compared": 10, "pages_skipped_cow": 3, "forking_time": 1500,
           "restore_time": 25000, "pages_restored": 40}


def test_stats_restore_and_downtime(tmp_path):
    d = checkpoint("04-tcp-sockets", ("stats-dump",))
    dst = copy_checkpoint(d, tmp_path)
    write_stats(dst / "stats-restore", "restore", RESTORE)
    doc = stats_json(dst)
    frozen = load(dst, "stats-dump")[0]["dump"]["frozen_time"]
    assert doc["restore"] == {"forking_time_us": 1500, "restore_time_us": 25000,
                              "pages_compared": 10, "pages_skipped_cow": 3, "pages_restored": 40}
    assert doc["downtime_us"] == frozen + 25000 == 90773
    text = cli_ok(["stats", str(dst)])
    assert "  restore time                      25.00 ms\n" in text
    assert "  pages skipped (COW)               3 (12 KiB)\n" in text
    assert "process downtime                    90.77 ms (frozen time + restore time)\n" in text


def test_stats_restore_only_and_old_dump(tmp_path):
    # a restore-only directory: no pstree, no stats-dump
    write_stats(tmp_path / "stats-restore", "restore", RESTORE)
    doc = stats_json(tmp_path)
    assert doc["dump"] is None and doc["downtime_us"] is None
    assert doc["restore"]["restore_time_us"] == 25000
    assert cli_ok(["stats", str(tmp_path)]).startswith("dump (stats-dump): none\n")
    # a dump from a CRIU without the optional fields: null in JSON, left out of the text
    old = {"freezing_time": 5, "frozen_time": 2000000, "memdump_time": 7, "memwrite_time": 8,
           "pages_scanned": 300, "pages_skipped_parent": 100, "pages_written": 200,
           "pages_lazy": 0}
    write_stats(tmp_path / "stats-dump", "dump", old)
    doc = stats_json(tmp_path)
    assert doc["dump"]["shpages_scanned"] is None and doc["dump"]["page_pipes"] is None
    assert doc["dump"]["pages_skipped_parent"] == 100
    assert doc["downtime_us"] == 2025000
    text = cli_ok(["stats", str(tmp_path)])
    assert "shmem" not in text and "page pipes" not in text
    assert "  frozen time                       2.00 s\n" in text
    assert "  pages skipped (in parent)         100 (400 KiB)\n" in text


# -- --json on every x command, against the schema ---------------------------------------------

JSON_CASES = sorted({s for s, _ in (DATA_X or [])}) or sorted({s for s, _ in SHARED_X})


@pytest.mark.parametrize("what", ["ps", "fds", "mems", "rss", "sk"])
@pytest.mark.parametrize("scen", JSON_CASES)
def test_json_matches_schema_and_model(scen, what):
    d = (DATA if DATA_X else SHARED_CORPUS) / scen
    # partial scenarios hold the images of some explorers only
    if what == "sk" and not list(d.glob("ids-*.img")):
        pytest.skip("no ids images")
    if what not in ("ps", "sk") and not (d / "golden" / ("x-%s.txt" % what)).exists():
        pytest.skip("partial scenario: no x %s" % what)
    doc = x_json(d, what)
    assert doc == as_plain(EXPLORERS[what](Checkpoint(str(d))))


@pytest.mark.parametrize("scen", sorted({s for s, _ in SHARED_X}))
def test_json_schema_shared_corpus(scen):
    d = SHARED_CORPUS / scen
    for what in ("ps", "fds", "mems", "rss", "sk"):
        x_json(d, what)
    if (d / "stats-dump").exists():
        stats_json(d)


def test_ps_json_is_the_pstree():
    d = checkpoint("04-tcp-sockets")
    tree = x_json(d, "ps")
    pstree = {p["pid"]: p for p in load(d, "pstree.img")}
    seen = []

    def walk(node, ppid):
        seen.append(node["pid"])
        p = pstree[node["pid"]]
        assert (p["ppid"], p["pgid"], p["sid"]) == (ppid, node["pgid"], node["sid"])
        core = load(d, "core-%d.img" % node["pid"], pretty=True)[0]
        assert (node["comm"], node["state"]) == (core["tc"]["comm"], core["tc"]["task_state"])
        for kid in node["children"]:
            walk(kid, node["pid"])

    assert len(tree) == 1
    walk(tree[0], 0)
    assert sorted(seen) == sorted(pstree)


def test_ps_json_dead_tasks():
    d = checkpoint("zdtm-zombie00")
    tree = x_json(d, "ps")
    assert [k["state"] for k in tree[0]["children"]].count("Dead") == 4
    assert tree[0]["state"] == "Alive"


def test_schema_is_valid_draft_2020_12():
    import jsonschema
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["$defs"]) >= {"x-ps", "x-fds", "x-mems", "x-rss", "x-sk", "stats"}


def test_api_models():
    d = checkpoint("04-tcp-sockets", ("pstree.img", "stats-dump"))
    st = explore_stats(Checkpoint(str(d), need_pstree=False))
    assert st.dump.pages_written == 54 and st.restore is None
    rows = EXPLORERS["sk"](Checkpoint(str(d)))
    assert [r.id for r in rows] == [f["id"] for f in load(d, "files.img")
                                    if f["type"].endswith("SK")]


# -- errors: one line naming the file, exit 1, nothing on stdout ---------------------------------

@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_errors_sk(tmp_path, json_flag):
    d = checkpoint("04-tcp-sockets", ("pstree.img", "tcp-stream-8589.img"))
    expect_error(["x", str(tmp_path), "sk"] + json_flag, "pstree.img")
    expect_error(["x", str(tmp_path / "absent"), "sk"] + json_flag, str(tmp_path / "absent"))
    dst = copy_checkpoint(d, tmp_path)
    pstree = (dst / "pstree.img").read_bytes()
    (dst / "tcp-stream-8584.img").write_bytes(pstree)
    err = expect_error(["x", str(dst), "sk"] + json_flag, "tcp-stream-8584.img")
    assert "TCP_STREAM" in err and "PSTREE" in err
    (dst / "tcp-stream-8584.img").write_bytes(b"\x00\x01garbage")
    expect_error(["x", str(dst), "sk"] + json_flag, "tcp-stream-8584.img")
    (dst / "tcp-stream-8584.img").unlink()  # absent is fine: no queue sizes for that socket
    (dst / "files.img").write_bytes(pstree)
    expect_error(["x", str(dst), "sk"] + json_flag, "files.img")
    (dst / "files.img").unlink()
    (dst / "fdinfo-2.img").unlink()
    expect_error(["x", str(dst), "sk"] + json_flag, "fdinfo-2.img")


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_errors_stats(tmp_path, json_flag):
    err = expect_error(["stats", str(tmp_path)] + json_flag, str(tmp_path / "stats-dump"))
    assert "missing" in err
    expect_error(["stats", str(tmp_path / "absent")] + json_flag, str(tmp_path / "absent"))
    (tmp_path / "file").write_bytes(b"x")
    expect_error(["stats", str(tmp_path / "file")] + json_flag, str(tmp_path / "file"))
    d = checkpoint("04-tcp-sockets", ("pstree.img", "stats-dump"))
    (tmp_path / "stats-dump").write_bytes((d / "pstree.img").read_bytes())
    err = expect_error(["stats", str(tmp_path)] + json_flag, "stats-dump")
    assert "STATS" in err and "PSTREE" in err
    (tmp_path / "stats-dump").write_bytes(b"\x40\x59\x10\x55garbage")
    expect_error(["stats", str(tmp_path)] + json_flag, "stats-dump")
    (tmp_path / "stats-dump").write_bytes(api.dumps({"magic": "STATS", "entries": []}))
    expect_error(["stats", str(tmp_path)] + json_flag, "stats-dump")
    (tmp_path / "stats-dump").write_bytes(api.dumps({"magic": "STATS", "entries": [{}]}))
    expect_error(["stats", str(tmp_path)] + json_flag, "stats-dump")
