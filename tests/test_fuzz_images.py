"""Seeded mutation fuzzer over real images: truncation at every offset, byte flips, huge size
prefixes, long varints, splices, trailing garbage. Only CritError (with file, offset and path)
may escape the API, and the CLI exits 0 or 1 with one stderr line. CRITCORE_FUZZ_SECONDS=N
keeps the random part going for N seconds."""
from __future__ import annotations

import io
import os
import random
import struct
import time

import pytest

import critcore
from critcore.errors import CritError

from conftest import DATA, run_cli

SECONDS = float(os.environ.get("CRITCORE_FUZZ_SECONDS", "0"))
# Small images of every layout: truncated at every offset.
TRUNCATED = ["01-minimal-c-loop/pstree.img", "05a-sysv-ipc-utsns/ipcns-msg-9.img",
             "05a-sysv-ipc-utsns/ipcns-sem-9.img", "05a-sysv-ipc-utsns/ipcns-shm-9.img",
             "04-tcp-sockets/tcp-stream-8584.img", "02-python-multi/sk-queues.img",
             "02-python-multi/pipes-data.img", "03-ghost-files/ghost-file-4.img",
             "01-minimal-c-loop/pagemap-12424.img", "zdtm-bpf_array/bpfmap-data.img",
             "01-minimal-c-loop/inventory.img", "01-minimal-c-loop/mm-12424.img"]
# And these too for the random mutations (nested messages, pretty fields, chunks, stats).
MUTATED = TRUNCATED + ["01-minimal-c-loop/core-12424.img", "04-tcp-sockets/files.img",
                       "02-python-multi/files.img", "03-ghost-files/ghost-file-3.img",
                       "01-minimal-c-loop/stats-dump", "zdtm-posix_timers/core-71.img"]


def images(names):
    out = []
    for n in names:
        p = DATA / n
        if p.is_file():
            out.append((n, p.read_bytes()))
    return out


class Tally:
    """Counts cases and collects the failures (an escaped exception, an error without its
    context) instead of stopping at the first."""

    def __init__(self):
        self.cases = 0
        self.bad = []

    def api(self, what: str, data: bytes) -> None:
        for pretty, nopl in ((False, False), (True, False), (True, True)):
            self.cases += 1
            try:
                critcore.loads(data, pretty=pretty, no_payload=nopl, file="x.img")
            except CritError as e:
                if e.file != "x.img" or e.offset is None or not e.path:
                    self.bad.append((what, "error without file/offset/path: %s" % e))
                elif not 0 <= e.offset <= len(data):
                    self.bad.append((what, "offset outside the file: %s" % e))
            except Exception as e:  # noqa: BLE001 - exactly what must not happen
                self.bad.append((what, "%s escaped: %s" % (type(e).__name__, e)))
        self.cases += 1
        try:
            critcore.info(io.BytesIO(data))
        except CritError:
            pass
        except Exception as e:  # noqa: BLE001
            self.bad.append((what, "info: %s escaped: %s" % (type(e).__name__, e)))


def frames(data: bytes):
    """Offsets of the u32 size prefixes of plainly framed entries (after an 8-byte head)."""
    pos, out = 8, []
    while pos + 4 <= len(data):
        out.append(pos)
        pos += 4 + struct.unpack_from("<I", data, pos)[0]
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    r = rng.random()
    if r < 0.3:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif r < 0.5:
        at = rng.choice(frames(data) or [len(b) - 4])
        b[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80",
                                   struct.pack("<I", len(b) - at - 3)])
    elif r < 0.6:
        at = rng.randrange(8, len(b))
        b[at:at] = b"\xff" * rng.randint(9, 12) + b"\x01"  # varints over 10 bytes
    elif r < 0.7:
        at, src = rng.randrange(8, len(b)), rng.randrange(8, len(b))
        b[at:at] = b[src:src + rng.randint(1, 40)]  # nested lengths now overrun their parent
    elif r < 0.8:
        at = rng.randrange(len(b))
        b[at] ^= 1 << rng.randrange(8)  # a wire type or a length bit
    elif r < 0.9:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 24)))  # trailing garbage
    else:
        b = b[:rng.randrange(len(b))] + bytes(rng.randrange(256) for _ in range(8))
    return bytes(b)


def test_truncation_at_every_offset():
    t = Tally()
    for name, data in images(TRUNCATED):
        for n in range(len(data)):
            t.api("%s[:%d]" % (name, n), data[:n])
    assert t.cases > 5000 and t.bad == []


def test_seeded_mutations():
    rng = random.Random(20)
    t = Tally()
    corpus = images(MUTATED)
    deadline = time.monotonic() + SECONDS
    rounds = 0
    while rounds < 40 or time.monotonic() < deadline:
        for name, data in corpus:
            m = mutate(rng, data)
            t0 = time.monotonic()
            t.api(name, m)
            assert time.monotonic() - t0 < 5, "slow on a mutation of %s" % name  # no hang
        rounds += 1
    print("fuzz: %d API cases over %d rounds, %d failures" % (t.cases, rounds, len(t.bad)))
    assert t.bad == [], t.bad[:5]


def test_invalid_utf8_strings_are_kept():
    data = (DATA / "01-minimal-c-loop/core-12424.img").read_bytes()
    i = data.index(b"loop")
    bad = data[:i] + b"\xffoo\xfe" + data[i + 4:]
    img = critcore.loads(bad)
    assert img["entries"][0]["tc"]["comm"] == "\udcffoo\udcfe"
    assert critcore.dumps(img) == bad


def test_size_prefix_larger_than_the_file_is_not_read():
    data = bytearray((DATA / "01-minimal-c-loop/mm-12424.img").read_bytes())
    data[8:12] = b"\xff\xff\xff\x7f"
    with pytest.raises(CritError) as ei:
        critcore.loads(bytes(data), file="mm.img")
    assert str(ei.value).startswith("mm.img: offset 0x8: entries[0]: entry size 2147483647 is "
                                    "larger than the rest of the file")


def test_deep_nesting_is_an_error_with_bounded_memory():
    import tracemalloc
    from critcore.schema import default_schema
    from critcore.wire import encode_varint
    schema = default_schema()
    pad = b"y" * 1_000_000
    ns = b"\x0a" + encode_varint(len(pad)) + pad  # aa_namespace.name
    for _ in range(3000):  # aa_namespace.namespaces, 3,000 levels deep
        ns = b"\x0a\x01x\x1a" + encode_varint(len(ns)) + ns
    entry = b"\x0a" + encode_varint(len(ns)) + ns  # apparmor_entry.namespaces
    data = struct.pack("<III", schema.magics["IMG_COMMON"], schema.magics["APPARMOR"],
                       len(entry)) + entry
    tracemalloc.start()
    try:
        with pytest.raises(CritError) as ei:
            critcore.loads(data, file="aa.img")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(ei.value).endswith("aa_namespace messages nested more than 100 levels deep")
    assert ei.value.offset is not None and ei.value.path.startswith("entries[0].namespaces[0]")
    assert peak < 3 * len(data)  # one copy of the entry, then views of it


@pytest.mark.parametrize("cmd", [["decode"], ["decode", "--pretty"], ["show"],
                                 ["show", "--nopl"], ["info"]])
def test_cli_on_mutated_images(cmd, tmp_path):
    rng = random.Random(len(" ".join(cmd)))
    corpus = images(MUTATED)
    runs = 0
    for k in range(60):
        name, data = corpus[k % len(corpus)]
        src = tmp_path / ("m%d.img" % k)
        src.write_bytes(mutate(rng, data) if k % 7 else data[:rng.randrange(len(data))])
        argv = cmd + (["-i", str(src)] if cmd[0] == "decode" else [str(src)])
        st, out, err = run_cli(argv)
        runs += 1
        lines = err.splitlines()
        assert st in (0, 1), (name, st, err)
        assert "Traceback" not in err and "internal error" not in err, err
        if st == 1:
            assert len(lines) == 1 and lines[0].startswith(src.name + ": "), err
        else:
            assert all("warning:" in line for line in lines) and len(lines) <= 1, err
    assert runs == 60


def test_hypothesis_flips():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st
    data = (DATA / "04-tcp-sockets/files.img").read_bytes()

    @hypothesis.settings(max_examples=100, derandomize=True, deadline=None, database=None)
    @hypothesis.given(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)),
                               min_size=1, max_size=6))
    def run(flips):
        b = bytearray(data)
        for at, v in flips:
            b[at] = v
        t = Tally()
        t.api("flips", bytes(b))
        assert t.bad == []
    run()
