"""Wire-level vectors and the message codec: every scalar type, packed/unpacked, unknown fields,
negative int32, invalid UTF-8 and error paths, checked against hand-computed protobuf bytes."""
import json
import struct

import pytest

from critcore.errors import CritError, DecodeError, EncodeError
from critcore.message import PLAIN, PRETTY, RESERVED_KEY, MessageCodec
from critcore.schema import Schema
from critcore.schema.loader import bundled_schema_dir, load_bundle
from critcore.schema.protoparse import parse_sources
from critcore.wire import encode_varint, read_varint, zigzag_decode, zigzag_encode


# ---------------------------------------------------------------- varints

@pytest.mark.parametrize("value, raw", [
    (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
    (16384, b"\x80\x80\x01"), ((1 << 64) - 1, b"\xff" * 9 + b"\x01"),
    (0x7FFFFFFFFFFF, b"\xff\xff\xff\xff\xff\xff\x1f"),
])
def test_varint_vectors(value, raw):
    assert encode_varint(value) == raw
    assert read_varint(raw, 0) == (value, len(raw))


def test_negative_varint_is_ten_bytes():
    assert encode_varint(-1) == b"\xff" * 9 + b"\x01"
    assert encode_varint(-2 ** 31) == b"\x80\x80\x80\x80\xf8\xff\xff\xff\xff\x01"


def test_varint_errors():
    with pytest.raises(DecodeError, match="truncated varint"):
        read_varint(b"\x80\x80", 0)
    with pytest.raises(DecodeError, match="longer than 10 bytes"):
        read_varint(b"\xff" * 11, 0)


@pytest.mark.parametrize("v, z", [(0, 0), (-1, 1), (1, 2), (-2, 3), (2 ** 31 - 1, 2 ** 32 - 2),
                                  (-2 ** 63, 2 ** 64 - 1)])
def test_zigzag(v, z):
    assert zigzag_encode(v) == z
    assert zigzag_decode(z) == v


# ---------------------------------------------------------------- a test schema

PROTO = """
syntax = "proto2";
import "opts.proto";
enum color { RED = 1; GREEN = 2; }
message inner { optional uint32 a = 1 [(criu).hex = true]; optional sint32 s = 2; }
message all_types {
    optional int32 i32 = 1;
    optional int64 i64 = 2;
    optional uint32 u32 = 3;
    optional uint64 u64 = 4;
    optional sint32 s32 = 5;
    optional sint64 s64 = 6;
    optional fixed32 f32 = 7;
    optional fixed64 f64 = 8;
    optional sfixed32 sf32 = 9;
    optional sfixed64 sf64 = 10;
    optional float fl = 11;
    optional double db = 12;
    optional bool b = 13;
    optional color c = 14;
    optional string s = 15;
    optional bytes by = 16;
    optional inner msg = 17;
    repeated uint32 unpacked = 18;
    repeated uint32 packed = 19 [packed = true];
    repeated inner msgs = 20;
    repeated fixed32 pfix = 21 [packed = true];
    optional inner hexed = 22 [(criu).hex = true];
    optional uint32 flags = 23 [(criu).flags = "mmap.prot"];
    optional uint32 dev = 24 [(criu).dev = true];
    optional uint32 odev = 25 [(criu).dev = true, (criu).odev = true];
    repeated uint32 ip = 26 [(criu).ipadd = true];
    optional uint32 state = 27 [(criu).dict = "gen"];
    optional uint32 task_state = 28 [(criu).dict = "gen"];
    optional bytes uname = 29 [(criu).conv = "unix_name"];
    repeated color colors = 30;
}
"""


@pytest.fixture(scope="module")
def schema():
    """The bundled schema plus the test messages above (their opts.proto is the bundled one)."""
    bundle = load_bundle(bundled_schema_dir())
    docs = parse_sources({"t.proto": PROTO, "opts.proto": "syntax = \"proto2\";"})
    return Schema(dict(bundle, docs=bundle["docs"] + [d for d in docs if d["file"] == "t.proto"]))


def codec(schema, view=PLAIN, name="all_types"):
    return MessageCodec.get(schema, name, view)


def tag(num, wire):
    return encode_varint(num << 3 | wire)


def test_every_scalar_type(schema):
    raw = b"".join([
        tag(1, 0), encode_varint(-5),
        tag(2, 0), encode_varint(-(1 << 40)),
        tag(3, 0), encode_varint(4000000000),
        tag(4, 0), encode_varint(1 << 63),
        tag(5, 0), encode_varint(zigzag_encode(-7)),
        tag(6, 0), encode_varint(zigzag_encode(-(1 << 50))),
        tag(7, 5), struct.pack("<I", 0xDEADBEEF),
        tag(8, 1), struct.pack("<Q", 1 << 60),
        tag(9, 5), struct.pack("<i", -3),
        tag(10, 1), struct.pack("<q", -4),
        tag(11, 5), struct.pack("<f", 1.5),
        tag(12, 1), struct.pack("<d", -2.25),
        tag(13, 0), b"\x01",
        tag(14, 0), b"\x02",
        tag(15, 2), b"\x03h\xc3\xa9"[:1] + b"h\xc3\xa9",
        tag(16, 2), b"\x02\x00\xff",
    ])
    d = codec(schema).decode(raw)
    assert d == {"i32": -5, "i64": -(1 << 40), "u32": 4000000000, "u64": 1 << 63, "s32": -7,
                 "s64": -(1 << 50), "f32": 0xDEADBEEF, "f64": 1 << 60, "sf32": -3, "sf64": -4,
                 "fl": 1.5, "db": -2.25, "b": True, "c": "GREEN", "s": "hé", "by": "AP8=\n"}
    assert codec(schema).encode(d) == raw
    assert codec(schema).encode(json.loads(json.dumps(d))) == raw


@pytest.mark.parametrize("name,num,bits", [("s32", 5, 32), ("s64", 6, 64)])
def test_sint_edges_zigzag_and_range(schema, name, num, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for v in (0, -1, 1, -64, 63, -65, 64, lo, hi):
        raw = tag(num, 0) + encode_varint(zigzag_encode(v))
        assert codec(schema).encode({name: v}) == raw
        assert codec(schema).decode(raw) == {name: v}
    for v in (lo - 1, hi + 1):
        with pytest.raises(EncodeError) as ei:
            codec(schema).encode({name: v})
        assert ei.value.path == name and "out of range for sint%d" % bits in str(ei.value)


def test_nested_messages_are_sized_after_writing_them(schema):
    # Nested messages are written in place and their size put in front afterwards.
    big = {"a": 1 << 31, "s": -(1 << 30)}  # 6 + 6 bytes
    big_raw = tag(1, 0) + encode_varint(1 << 31) + tag(2, 0) + encode_varint((1 << 31) - 1)
    raw = (tag(3, 0) + b"\x07" + tag(17, 2) + bytes([len(big_raw)]) + big_raw
           + tag(20, 2) + b"\x00" + tag(20, 2) + b"\x02\x08\x05" + tag(20, 2)
           + bytes([len(big_raw)]) + big_raw + tag(23, 0) + b"\x01")
    d = {"u32": 7, "msg": big, "msgs": [{}, {"a": 5}, big], "flags": 1}
    assert codec(schema).encode(d) == raw
    assert codec(schema).decode(raw) == d
    # A nested error leaves no half-written message behind for the caller to see.
    with pytest.raises(EncodeError) as ei:
        codec(schema).encode({"msgs": [{"a": 1}, {"a": -1}]})
    assert ei.value.path == "msgs[1].a"


def test_key_plans_match_the_field_by_field_encoder(schema):
    # Dicts whose keys are fields in number order go through a cached plan; any other key
    # order, unknown or reserved key, or missing required field goes field by field. Both
    # must write the same bytes and raise the same errors.
    c = codec(schema)
    d = {"i32": -5, "u32": 7, "s64": -3, "msg": {"a": 1, "s": -1}, "unpacked": [1, 2],
         "msgs": [{"a": 2}, {}], "flags": 3, "colors": ["RED", 7]}
    raw = c.encode(d)
    assert c.plans[tuple(d)] is not False
    shuffled = dict(reversed(list(d.items())))
    assert c.encode(shuffled) == raw
    assert c.plans[tuple(shuffled)] is False
    assert c.decode(raw) == d
    many = dict(d, **{"k%d" % i: i for i in range(100)})  # unknown keys: never remembered
    with pytest.raises(EncodeError):
        c.encode(many)
    assert tuple(many) not in c.plans
    for bad, path in (({"u32": -1}, "u32"), ({"u32": 1, "msg": {"a": "x"}}, "msg.a"),
                      ({"msgs": [{}, {"s": 1 << 40}]}, "msgs[1].s"), ({"u32": 1, "nope": 2}, "nope")):
        for doc in (bad, dict(reversed(list(bad.items())))):
            with pytest.raises(EncodeError) as ei:
                c.encode(doc)
            assert ei.value.path == path


def test_inline_varint_reader_at_every_length(schema):
    # The message loop reads varints inline, in two halves; check every length against the
    # reference reader, up to 2**64 - 1 and the 10-byte negative int64.
    import random
    rng = random.Random(7)
    values = [0, 1, 127, 128, (1 << 64) - 1] + [(1 << b) - 1 for b in range(7, 64, 7)]
    values += [1 << b for b in range(7, 64, 7)] + [rng.getrandbits(b) for b in range(1, 65)]
    for v in values:
        raw = tag(4, 0) + encode_varint(v)
        assert codec(schema).decode(raw) == {"u64": v}, v
        assert read_varint(raw, 1) == (v, len(raw))
    assert codec(schema).decode(tag(2, 0) + encode_varint(-3)) == {"i64": -3}
    # 10 bytes whose last carries more than bit 63: the value is cut to 64 bits, as protobuf does
    assert codec(schema).decode(tag(4, 0) + b"\xff" * 9 + b"\x7f") == {"u64": (1 << 64) - 1}
    with pytest.raises(DecodeError) as ei:
        codec(schema).decode(tag(4, 0) + b"\x80" * 10 + b"\x01")
    assert ei.value.offset == 1 and "longer than 10 bytes" in str(ei.value)
    for n in range(1, 10):
        with pytest.raises(DecodeError, match="truncated"):
            codec(schema).decode(tag(4, 0) + b"\x80" * n)


def test_negative_int32_round_trips_as_ten_bytes(schema):
    raw = tag(1, 0) + b"\xff" * 9 + b"\x01"
    assert codec(schema).decode(raw) == {"i32": -1}
    assert codec(schema).encode({"i32": -1}) == raw


def test_packed_and_unpacked_as_declared(schema):
    raw = (tag(18, 0) + b"\x01" + tag(18, 0) + b"\x02"
           + tag(19, 2) + b"\x03\x01\x02\x96\x01"[:1] + b"\x01\x02\x03"
           + tag(21, 2) + b"\x08" + struct.pack("<II", 7, 8))
    d = codec(schema).decode(raw)
    assert d == {"unpacked": [1, 2], "packed": [1, 2, 3], "pfix": [7, 8]}
    assert RESERVED_KEY not in d
    assert codec(schema).encode(d) == raw


def test_packed_and_unpacked_against_declaration_are_kept(schema):
    # A writer may pack an unpacked field and the other way round; both must come back as they came.
    raw = tag(18, 2) + b"\x02\x01\x02" + tag(19, 0) + b"\x05" + tag(19, 0) + b"\x06"
    d = codec(schema).decode(raw)
    assert d["unpacked"] == [1, 2] and d["packed"] == [5, 6]
    assert d[RESERVED_KEY] == {"packed": ["unpacked"], "unpacked": ["packed"]}
    assert codec(schema).encode(json.loads(json.dumps(d))) == raw


def test_unknown_fields_kept_in_place(schema):
    raw = (tag(3, 0) + b"\x01" + tag(40, 0) + b"\x2a" + tag(41, 2) + b"\x02hi"
           + tag(42, 5) + b"\x01\x02\x03\x04" + tag(43, 1) + b"\x01" * 8)
    d = codec(schema).decode(raw)
    assert d == {"u32": 1, RESERVED_KEY: {"unknown": [
        [40, 0, 42], [41, 2, "aGk=\n"], [42, 5, 0x04030201], [43, 1, 0x0101010101010101]]}}
    assert codec(schema).encode(json.loads(json.dumps(d))) == raw


def test_unknown_field_between_known_ones_is_written_back_in_number_order(schema):
    d = codec(schema).decode(tag(3, 0) + b"\x01" + tag(100, 0) + b"\x07" + tag(19, 2) + b"\x01\x07"
                             + tag(20, 2) + b"\x00")
    assert d[RESERVED_KEY] == {"unknown": [[100, 0, 7]]}
    want = tag(3, 0) + b"\x01" + tag(19, 2) + b"\x01\x07" + tag(20, 2) + b"\x00" + tag(100, 0) + b"\x07"
    assert codec(schema).encode(d) == want


def test_unknown_enum_value_is_a_number(schema):
    raw = tag(14, 0) + b"\x09" + tag(30, 0) + b"\x01" + tag(30, 0) + b"\x63"
    d = codec(schema).decode(raw)
    assert d == {"c": 9, "colors": ["RED", 99]}
    assert codec(schema).encode(d) == raw


def test_invalid_utf8_string_is_kept(schema):
    raw = tag(15, 2) + b"\x03a\xffb"
    d = codec(schema).decode(raw)
    assert d["s"] == "a\udcffb"
    text = json.dumps(d)
    assert codec(schema).encode(json.loads(text)) == raw


def test_fields_out_of_order_are_sorted_like_protobuf(schema):
    raw = tag(4, 0) + b"\x02" + tag(3, 0) + b"\x01"
    d = codec(schema).decode(raw)
    assert list(d) == ["u32", "u64"]
    assert codec(schema).encode(d) == tag(3, 0) + b"\x01" + tag(4, 0) + b"\x02"


def test_explicit_defaults_and_empty_messages_are_kept(schema):
    raw = tag(3, 0) + b"\x00" + tag(17, 2) + b"\x00" + tag(13, 0) + b"\x00"
    d = codec(schema).decode(raw)
    assert d == {"u32": 0, "b": False, "msg": {}}
    assert codec(schema).encode(d) == tag(3, 0) + b"\x00" + tag(13, 0) + b"\x00" + tag(17, 2) + b"\x00"


def test_pretty_view_conversions(schema):
    raw = b"".join([
        tag(22, 2), b"\x04", tag(1, 0), b"\x0f", tag(2, 0), b"\x03",  # hexed inner: a=15, s=-2
        tag(23, 0), b"\x0d",                                          # PROT_READ|PROT_EXEC|0x8
        tag(24, 0), encode_varint(8 << 20 | 3),
        tag(25, 0), encode_varint(0x803),
        tag(26, 0), struct.pack("<I", 0x0100007F)[:0] + encode_varint(0x0100007F),
        tag(27, 0), b"\x01",
        tag(28, 0), b"\x02",
        tag(29, 2), b"\x03a=\xff",
    ])
    d = codec(schema, PRETTY).decode(raw)
    assert d == {"hexed": {"a": "0xf", "s": "0x-2"}, "flags": "PROT_READ | PROT_EXEC | 0x8",
                 "dev": "8:3", "odev": "8:3", "ip": ["127.0.0.1"], "state": 1,
                 "task_state": "Dead", "uname": "a=3D=FF"}
    assert codec(schema).encode(d) == raw
    assert codec(schema, PLAIN).decode(raw)["uname"] == "a=3D=FF"


def test_ipv6_pretty(schema):
    words = [0x000080FE, 0, 0, 0x01000000]  # fe80::1 in network order
    raw = b"".join(tag(26, 0) + encode_varint(w) for w in words)
    d = codec(schema, PRETTY).decode(raw)
    assert d == {"ip": ["fe80::1"]}
    assert codec(schema).encode(d) == raw


@pytest.mark.parametrize("raw, msg, path", [
    (tag(3, 0), "truncated", "u32"),
    (tag(3, 0) + b"\x80", "truncated", "u32"),
    (tag(15, 2) + b"\x05ab", "overruns the message", "s"),
    (tag(17, 2) + b"\x02" + tag(1, 0) + b"\x80", "truncated", "msg.a"),
    (tag(20, 2) + b"\x00" + tag(20, 2) + b"\x02\x08\x80", "truncated", "msgs[1].a"),
    (tag(3, 2) + b"\x00", "wrong wire type length-delimited for uint32 field", "u32"),
    (tag(7, 0) + b"\x00", "wrong wire type varint for fixed32 field", "f32"),
    (tag(8, 1) + b"\x00\x00", "truncated 8-byte value", "f64"),
    (tag(21, 2) + b"\x03\x00\x00\x00", "not a multiple of 4", "pfix"),
    (b"\x00", "field number 0", ""),
    (tag(3, 3), "unsupported wire type 3", ""),
    (b"\xff" * 11, "longer than 10 bytes", ""),
])
def test_decode_errors_carry_offset_and_path(schema, raw, msg, path):
    with pytest.raises(DecodeError) as ei:
        codec(schema).decode(raw)
    assert msg in str(ei.value)
    assert ei.value.path == path
    assert ei.value.offset is not None and 0 <= ei.value.offset <= len(raw)


@pytest.mark.parametrize("doc, path, msg", [
    ({"b": "false"}, "b", "expected true or false"),
    ({"u32": 1.9}, "u32", "expected an integer"),
    ({"u32": -1}, "u32", "out of range"),
    ({"u32": 1 << 32}, "u32", "out of range"),
    ({"i32": 1 << 31}, "i32", "out of range"),
    ({"c": "BLUE"}, "c", "not a value of enum color"),
    ({"by": "not base64!"}, "by", "invalid base64"),
    ({"s": 5}, "s", "expected a string"),
    ({"msgs": [{}, {"a": "x"}]}, "msgs[1].a", "not a valid number"),
    ({"unpacked": [1, "zz"]}, "unpacked[1]", "not a valid number"),
    ({"flags": "PROT_BANANA"}, "flags", "'PROT_BANANA' is not a known mmap.prot flag"),
    ({"dev": "8"}, "dev", "not a major:minor device"),
    ({"ip": ["1.2.3.999"]}, "ip[0]", "not an IPv4 or IPv6 address"),
    ({"nosuch": 1}, "nosuch", "unknown key 'nosuch'"),
    ({"msg": []}, "msg", "expected an object"),
])
def test_encode_errors_carry_path(schema, doc, path, msg):
    with pytest.raises(EncodeError) as ei:
        codec(schema).encode(doc)
    assert ei.value.path == path
    assert msg in str(ei.value)
    assert isinstance(ei.value, CritError)


def test_encode_accepts_pretty_strings_in_plain_documents(schema):
    assert codec(schema).encode({"u32": "0x10"}) == tag(3, 0) + b"\x10"
    assert codec(schema).encode({"task_state": "Zombie"}) == tag(28, 0) + b"\x06"


def test_encode_does_not_mutate_input(schema):
    doc = {"ip": ["10.0.0.1"], "msgs": [{"a": 1}], RESERVED_KEY: {"unknown": [[99, 0, 1]]}}
    before = json.dumps(doc)
    codec(schema).encode(doc)
    assert json.dumps(doc) == before


def test_proto_message_construct(schema):
    from critcore.message import ProtoMessage
    m = ProtoMessage(schema, "inner")
    assert m.parse(b"\x08\x05") == {"a": 5}
    assert m.build({"a": 5, "s": -1}) == b"\x08\x05\x10\x01"
