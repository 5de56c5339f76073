"""The bundled schema is criu-dev's: its new fields (compressed pages, image version 3) decode,
show and encode back to the same bytes, on images built from a real 4.2 checkpoint."""
from __future__ import annotations

from conftest import DATA, run_cli

from critcore import dumps, loads

LOOP = DATA / "01-minimal-c-loop"


def test_inventory_v3_with_compression_round_trips(tmp_path):
    inv = loads((LOOP / "inventory.img").read_bytes())
    entry = inv["entries"][0]
    assert entry["img_version"] == 2 and "compress" not in entry
    entry.update(img_version=3, compress=2, compress_region_size=65536)
    data = dumps(inv)
    assert loads(data)["entries"][0]["compress_region_size"] == 65536
    (tmp_path / "inventory.img").write_bytes(data)
    st, out, err = run_cli(["show", str(tmp_path / "inventory.img")])
    assert (st, err) == (0, "")
    assert b'"img_version": 3,' in out and b'"compress": 2,' in out
    st, back, err = run_cli(["encode"], stdin_bytes=out)
    assert (st, back) == (0, data)


def test_pagemap_compression_fields_round_trip(tmp_path):
    pm = loads((LOOP / "pagemap-12424.img").read_bytes())
    present = [e for e in pm["entries"][1:] if e.get("flags", 0) & 4]
    assert present
    e = present[0]
    e.update(compressed_size=[0, 4096, 123][:e["nr_pages"]] + [7] * max(0, e["nr_pages"] - 3),
             total_compressed_size=1, flags=e["flags"] | 8)
    data = dumps(pm)
    assert data != (LOOP / "pagemap-12424.img").read_bytes()
    (tmp_path / "pagemap-1.img").write_bytes(data)
    st, out, err = run_cli(["show", str(tmp_path / "pagemap-1.img")])
    assert st == 0, err
    assert b'"flags": "PE_PRESENT | PE_PAYLOAD_ALIGNED"' in out
    st, back, err = run_cli(["encode"], stdin_bytes=out)
    assert (st, back) == (0, data)
    # compressed_size is declared packed: one length-delimited field 6 on the wire.
    assert bytes([6 << 3 | 2]) in data
