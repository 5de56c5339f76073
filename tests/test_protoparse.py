"""Unit tests for critcore.schema.protoparse on small inline .proto and magic.h sources.
They cover every construct CRIU's image protos use, and that errors point at file:line:col."""
from __future__ import annotations

import pytest

from critcore.errors import CritError, ProtoSyntaxError, SchemaError
from critcore.schema.protoparse import (SCALARS, parse_magic_h, parse_sources, read_proto_dir,
                                        tokenize)

OPTS = '''syntax = "proto2";

import "google/protobuf/descriptor.proto";

message CRIU_Opts {
	optional bool hex = 1; // Indicate that CRIT should treat this field as hex.
	optional bool ipadd = 2; // The field is IPv4/v6 address
	optional string flags = 3;
	optional bool dev = 4; // Device major:minor packed
	optional bool odev = 5; // ... in old format
	optional string dict = 6;
	optional string conv = 7;
}

extend google.protobuf.FieldOptions {
	// Registered unique number to use for all kinds of custom options.
	optional CRIU_Opts criu = 1018;
}
'''


def parse(text, name="x.proto", **others):
    """Parse `text` (plus other files given as keyword name_proto=text) and return its doc."""
    sources = {name: text}
    sources.update({k.replace("_proto", ".proto"): v for k, v in others.items()})
    docs = parse_sources(sources)
    return next(d for d in docs if d["file"] == name)


def fields(doc, msg):
    m = next(m for m in doc["messages"] if m["name"] == msg)
    return {f["name"]: f for f in m["fields"]}


def field(text, name="f", msg="m"):
    return fields(parse(text), msg)[name]


def fails(text, name="x.proto", **others):
    sources = {name: text}
    sources.update({k.replace("_proto", ".proto"): v for k, v in others.items()})
    with pytest.raises(ProtoSyntaxError) as ei:
        parse_sources(sources)
    return ei.value


def no_private_keys(obj):
    if isinstance(obj, dict):
        return all(not str(k).startswith("_") and no_private_keys(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(no_private_keys(x) for x in obj)
    return True


# --------------------------------------------------------------------------------------------
# File level: syntax, import, package, option

def test_doc_shape():
    doc = parse('syntax = "proto2";\nmessage m { required uint32 a = 1; }\nenum e { A = 0; }\n')
    assert doc == {
        "file": "x.proto", "syntax": "proto2", "package": None, "imports": [],
        "enums": [{"name": "e", "values": [["A", 0]]}],
        "messages": [{"name": "m", "fields": [
            {"name": "a", "number": 1, "label": "required", "type": "uint32"}]}],
    }
    assert list(doc) == ["file", "syntax", "package", "imports", "enums", "messages"]


def test_syntax_defaults_to_proto2_and_rejects_unknown():
    assert parse("message m {}")["syntax"] == "proto2"
    assert parse("syntax = 'proto2';\nmessage m {}")["syntax"] == "proto2"
    e = fails('\nsyntax = "proto4";\n')
    assert str(e) == "x.proto:2:10: unknown syntax 'proto4'"


def test_descriptor_import_needs_no_file():
    doc = parse(OPTS, "opts.proto")
    assert doc["imports"] == ["google/protobuf/descriptor.proto"]
    # The extend block is consumed; only CRIU_Opts itself is a message.
    assert [m["name"] for m in doc["messages"]] == ["CRIU_Opts"]
    assert [f["name"] for f in doc["messages"][0]["fields"]] == ["hex", "ipadd", "flags", "dev", "odev",
                                                                 "dict", "conv"]


def test_import_resolves_types_from_other_files():
    docs = parse_sources({
        "a.proto": 'import "b.proto";\nimport public "c.proto";\n'
                   'message a_entry { optional b_entry b = 1; repeated c_kind c = 2; }',
        "b.proto": "message b_entry { required uint32 x = 1; }",
        "c.proto": "enum c_kind { C0 = 0; C1 = 1; }",
    })
    assert [d["file"] for d in docs] == ["a.proto", "b.proto", "c.proto"]
    f = fields(docs[0], "a_entry")
    assert docs[0]["imports"] == ["b.proto", "c.proto"]
    assert f["b"] == {"name": "b", "number": 1, "label": "optional", "type": "message", "type_name": "b_entry"}
    assert f["c"] == {"name": "c", "number": 2, "label": "repeated", "type": "enum", "type_name": "c_kind"}


def test_transitive_import_and_missing_import():
    doc = parse('import "b.proto";\nmessage m { optional c f = 1; }',
                b_proto='import "c.proto";', c_proto="message c {}")
    assert fields(doc, "m")["f"]["type_name"] == "c"
    with pytest.raises(SchemaError) as ei:
        parse_sources({"x.proto": 'import "nope.proto";\nmessage m {}'})
    assert isinstance(ei.value, CritError)
    assert str(ei.value) == "x.proto: import 'nope.proto' not found"


def test_options_are_accepted_and_dropped():
    doc = parse('syntax = "proto2";\noption java_package = "org.criu";\noption optimize_for = SPEED;\n'
                'option (my.ext).deep = -1;\n'
                'message m { option deprecated = true; optional uint32 a = 1 [json_name = "A", ctype = CORD]; }\n'
                'enum e { option allow_alias = true; A = 0; B = 0 [deprecated = true]; }')
    assert fields(doc, "m")["a"] == {"name": "a", "number": 1, "label": "optional", "type": "uint32"}
    assert doc["enums"] == [{"name": "e", "values": [["A", 0], ["B", 0]]}]


def test_package_prefixes_names_and_qualified_refs_resolve():
    doc = parse("package foo.bar;\n"
                "enum kind { K0 = 0; }\n"
                "message x { optional kind k = 1 [default = K0]; }\n"
                "message m {\n"
                "  optional x a = 1;\n"
                "  optional bar.x b = 2;\n"
                "  optional foo.bar.x c = 3;\n"
                "  optional .foo.bar.x d = 4;\n"
                "  optional .foo.bar.kind e = 5;\n"
                "}\n")
    assert doc["package"] == "foo.bar"
    assert [m["name"] for m in doc["messages"]] == ["foo.bar.x", "foo.bar.m"]
    assert doc["enums"][0]["name"] == "foo.bar.kind"
    f = fields(doc, "foo.bar.m")
    assert [f[n]["type_name"] for n in "abcd"] == ["foo.bar.x"] * 4
    assert f["e"]["type"] == "enum" and f["e"]["type_name"] == "foo.bar.kind"
    assert fields(doc, "foo.bar.x")["k"]["default"] == "K0"


def test_refs_across_packages():
    doc = parse('package pb;\nimport "a.proto";\nmessage m { optional pa.x a = 1; optional .pa.x b = 2; }',
                a_proto="package pa;\nmessage x {}")
    f = fields(doc, "pb.m")
    assert f["a"]["type_name"] == f["b"]["type_name"] == "pa.x"


def test_package_is_not_a_type():
    e = fails("package foo;\nmessage m {\n  optional foo f = 1;\n}")
    assert str(e) == "x.proto:3:3: unknown type 'foo' in foo.m.f"


# --------------------------------------------------------------------------------------------
# Messages, enums, nesting and scoping

def test_nested_messages_and_enums():
    doc = parse("message outer {\n"
                "  enum kind { A = 0; B = 1; }\n"
                "  message inner {\n"
                "    message deeper { optional kind k = 1; optional inner up = 2; }\n"
                "    optional deeper d = 1;\n"
                "  }\n"
                "  optional inner i = 1;\n"
                "  repeated inner.deeper dd = 2;\n"
                "  optional kind k = 3 [default = B];\n"
                "}\n"
                "message other {\n"
                "  optional outer.inner i = 1;\n"
                "  optional .outer.inner.deeper d = 2;\n"
                "  optional outer.kind k = 3 [default = A];\n"
                "}\n")
    assert [m["name"] for m in doc["messages"]] == ["outer", "outer.inner", "outer.inner.deeper", "other"]
    assert doc["enums"] == [{"name": "outer.kind", "values": [["A", 0], ["B", 1]]}]
    deeper = fields(doc, "outer.inner.deeper")
    assert (deeper["k"]["type"], deeper["k"]["type_name"]) == ("enum", "outer.kind")
    assert (deeper["up"]["type"], deeper["up"]["type_name"]) == ("message", "outer.inner")
    outer = fields(doc, "outer")
    assert outer["i"]["type_name"] == "outer.inner"
    assert outer["dd"]["type_name"] == "outer.inner.deeper"
    assert outer["k"]["default"] == "B"
    other = fields(doc, "other")
    assert [other[n]["type_name"] for n in ("i", "d", "k")] == ["outer.inner", "outer.inner.deeper", "outer.kind"]


def test_innermost_scope_wins_and_leading_dot_is_absolute():
    doc = parse("message a {}\nmessage b {\n  message a {}\n  optional a x = 1;\n  optional .a y = 2;\n}")
    f = fields(doc, "b")
    assert f["x"]["type_name"] == "b.a"
    assert f["y"]["type_name"] == "a"


def test_partial_name_binds_to_innermost_first_component():
    # As in protoc: `a.c` binds `a` to b.a, and b.a.c does not exist, so this is an error
    # even though a top-level a.c exists.
    e = fails("message a { message c {} }\nmessage b {\n  message a {}\n  optional a.c x = 1;\n}")
    assert str(e) == "x.proto:4:3: unknown type 'a.c' in b.x"


def test_enum_values_negative_and_hex():
    doc = parse("enum e { NEG = -1; ZERO = 0; HEX = 0x10; OCT = 010; ; }")
    assert doc["enums"][0]["values"] == [["NEG", -1], ["ZERO", 0], ["HEX", 16], ["OCT", 8]]


def test_enum_reserved_and_duplicates():
    parse('enum e { reserved 2, 5 to 7, 100 to max; reserved "OLD"; A = 0; B = 3; }')
    assert str(fails('enum e {\n  reserved 5 to 7;\n  A = 6;\n}')) == "x.proto:3:7: A in e uses reserved number 6"
    assert str(fails("enum e {\n  A = 0;\n  A = 1;\n}")) == "x.proto:3:3: enum value A is already defined in e"
    assert str(fails("enum e {\n  A = 0;\n  B = 0;\n}")).startswith(
        "x.proto:3:7: e.B uses the same value as A; set option allow_alias = true")
    assert str(fails("\nenum e {\n}")) == "x.proto:2:6: enum e has no values"


# --------------------------------------------------------------------------------------------
# Fields: labels, types, defaults, packed, deprecated, oneof, reserved

@pytest.mark.parametrize("label", ["required", "optional", "repeated"])
def test_labels(label):
    assert field("message m { %s bytes f = 7; }" % label) == {
        "name": "f", "number": 7, "label": label, "type": "bytes"}


def test_missing_label_is_an_error():
    assert str(fails("message m {\n  uint32 f = 1;\n}")) == \
        "x.proto:2:3: expected required, optional or repeated, found 'uint32'"


@pytest.mark.parametrize("scalar", sorted(SCALARS))
def test_every_scalar_type(scalar):
    assert field("message m { optional %s f = 1; }" % scalar) == {
        "name": "f", "number": 1, "label": "optional", "type": scalar}


def test_all_fifteen_scalars_known():
    assert SCALARS == {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
                       "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"}


def test_field_numbers():
    f = fields(parse("message m { optional bool a = 1; optional bool b = 0x10; optional bool c = 536870911; "
                     "optional bool d = 18999; optional bool e = 20000; }"), "m")
    assert [f[n]["number"] for n in "abcde"] == [1, 16, 536870911, 18999, 20000]


@pytest.mark.parametrize("ftype,literal,expected", [
    ("int32", "5", 5),
    ("int32", "-5", -5),
    ("int32", "-2147483648", -2 ** 31),
    ("sint32", "-1", -1),
    ("uint32", "0xffffffff", 0xFFFFFFFF),
    ("uint32", "0x100000", 0x100000),
    ("int64", "-0x10", -16),
    ("uint64", "18446744073709551615", 2 ** 64 - 1),
    ("fixed32", "010", 8),
    ("sfixed64", "0", 0),
    ("bool", "true", True),
    ("bool", "false", False),
    ("string", '"abc"', "abc"),
    ("string", "'single'", "single"),
    ("string", r'"q\"uo\n\x41\101"', 'q"uo\nAA'),
    ("string", '"con" "cat"', "concat"),
    ("string", '"http://x/*y*/"', "http://x/*y*/"),
    ("string", '""', ""),
    ("bytes", r'"a\001"', "a\x01"),
    ("double", "1.5", 1.5),
    ("float", "-2.5e3", -2500.0),
    ("double", "3", 3),
    ("double", "inf", float("inf")),
    ("float", "-inf", float("-inf")),
])
def test_defaults(ftype, literal, expected):
    f = field("message m { optional %s f = 1 [default = %s]; }" % (ftype, literal))
    assert f["default"] == expected
    assert type(f["default"]) is type(expected)


def test_nan_default():
    v = field("message m { optional double f = 1 [default = nan]; }")["default"]
    assert v != v


def test_enum_default_and_key_order():
    f = field("enum e { A = 0; B = 1; }\nmessage m { optional e f = 2 [ default = B ]; }")
    assert f == {"name": "f", "number": 2, "label": "optional", "type": "enum", "type_name": "e", "default": "B"}
    assert list(f) == ["name", "number", "label", "type", "type_name", "default"]


@pytest.mark.parametrize("decl,message", [
    ("optional uint32 f = 1 [default = -1]", "default -1 is out of range for field f of type uint32"),
    ("optional int32 f = 1 [default = 0x80000000]", "default 2147483648 is out of range for field f of type int32"),
    ("optional uint64 f = 1 [default = 0x10000000000000000]",
     "default 18446744073709551616 is out of range for field f of type uint64"),
    ("optional bool f = 1 [default = 1]", "default 1 does not fit field f of type bool"),
    ("optional string f = 1 [default = abc]", "default 'abc' does not fit field f of type string"),
    ("optional int32 f = 1 [default = \"1\"]", "default '1' does not fit field f of type int32"),
    ("optional e f = 1 [default = C]", "default 'C' does not fit field f of type enum"),
    ("optional e f = 1 [default = 0]", "default 0 does not fit field f of type enum"),
    ("optional e f = 1 [default = \"A\"]", "default 'A' does not fit field f of type enum"),
    ("optional float f = 1 [default = infinity]", "default 'infinity' does not fit field f of type float"),
    ("optional n f = 1 [default = 1]", "message field f cannot be packed or have a default"),
    ("repeated int32 f = 1 [default = 1]", "repeated fields cannot have a default"),
])
def test_bad_defaults(decl, message):
    e = fails("enum e { A = 0; }\nmessage n {}\nmessage m {\n  %s;\n}" % decl)
    assert str(e) == "x.proto:4:3: " + message


def test_packed_and_deprecated():
    f = fields(parse("enum e { A = 0; }\nmessage m {\n"
                     "  repeated uint32 a = 1 [packed = true];\n"
                     "  repeated sint64 b = 2 [packed=false];\n"
                     "  repeated e c = 3 [packed = true];\n"
                     "  optional uint32 d = 4 [deprecated = true];\n"
                     "  optional uint32 g = 5 [deprecated = false];\n"
                     "  repeated fixed64 h = 6 [deprecated = true, packed = true];\n"
                     "}"), "m")
    assert f["a"] == {"name": "a", "number": 1, "label": "repeated", "type": "uint32", "packed": True}
    assert "packed" not in f["b"]
    assert f["c"] == {"name": "c", "number": 3, "label": "repeated", "type": "enum", "type_name": "e",
                      "packed": True}
    assert f["d"]["deprecated"] is True and "deprecated" not in f["g"]
    assert list(f["h"]) == ["name", "number", "label", "type", "packed", "deprecated"]


@pytest.mark.parametrize("decl", ["repeated string f = 1 [packed = true]",
                                  "repeated bytes f = 1 [packed = true]",
                                  "optional uint32 f = 1 [packed = true]"])
def test_packed_on_unpackable_field(decl):
    e = fails("message m {\n    %s;\n}" % decl)
    assert str(e) == "x.proto:2:5: [packed = true] on a field that cannot be packed"


def test_packed_on_message_field():
    e = fails("message n {}\nmessage m {\n    repeated n f = 1 [packed = true];\n}")
    assert str(e) == "x.proto:3:5: message field f cannot be packed or have a default"


def test_packed_wants_a_bool():
    e = fails("message m {\n  repeated uint32 f = 1 [packed = 1];\n}")
    assert str(e) == "x.proto:2:26: packed wants true or false"


def test_oneof():
    doc = parse("message m {\n"
                "  required uint32 id = 1;\n"
                "  oneof body {\n"
                "    uint32 num = 2 [(criu).hex = true];\n"
                "    string text = 3 [default = \"x\"];\n"
                "    sub msg = 4;\n"
                "  }\n"
                "  optional uint32 after = 5;\n"
                "  message sub {}\n"
                "}")
    f = fields(doc, "m")
    assert list(f) == ["id", "num", "text", "msg", "after"]
    assert "oneof" not in f["id"] and "oneof" not in f["after"]
    assert f["num"] == {"name": "num", "number": 2, "label": "optional", "type": "uint32", "oneof": "body",
                        "criu": {"hex": True}}
    assert list(f["text"]) == ["name", "number", "label", "type", "default", "oneof"]
    assert f["msg"]["type_name"] == "m.sub" and f["msg"]["oneof"] == "body"


def test_oneof_errors():
    assert str(fails("message m {\n  oneof o {\n    optional uint32 a = 1;\n  }\n}")) == \
        "x.proto:3:5: fields in oneof o must not have a label"
    assert str(fails("message m {\n  optional uint32 a = 1;\n  oneof o { uint32 b = 1; }\n}")) == \
        "x.proto:3:24: field number 1 used twice in m"


def test_reserved_numbers_ranges_and_names():
    doc = parse('message m {\n  reserved 2, 15, 9 to 11, 40 to max;\n  reserved "foo", "bar";\n'
                '  extensions 100 to 199;\n  optional uint32 a = 1;\n  optional uint32 b = 12;\n}')
    assert [f["name"] for f in doc["messages"][0]["fields"]] == ["a", "b"]
    assert no_private_keys(doc)


@pytest.mark.parametrize("decl,message", [
    ("optional uint32 x = 10", "x in m uses reserved number 10"),
    ("optional uint32 x = 536870911", "x in m uses reserved number 536870911"),
    ("optional uint32 foo = 3", "foo in m uses the reserved name 'foo'"),
    ("optional uint32 x = 150", "x in m uses extension number 150"),
])
def test_fields_may_not_use_reserved(decl, message):
    e = fails('message m {\n  reserved 9 to 11, 1000 to max;\n  reserved "foo";\n  extensions 100 to 199;\n'
              "  %s;\n}" % decl)
    assert str(e) == "x.proto:5:3: " + message


def test_duplicate_definitions():
    assert str(fails("message m {\n  optional uint32 a = 1;\n  optional uint32 a = 2;\n}")) == \
        "x.proto:3:19: field a is already defined in m"
    assert str(fails("message m {\n  optional uint32 a = 1;\n  optional uint32 b = 1;\n}")) == \
        "x.proto:3:23: field number 1 used twice in m"
    assert str(fails("message m {}\nenum m { A = 0; }")) == "x.proto:2:6: m is already defined at line 1"
    with pytest.raises(SchemaError) as ei:
        parse_sources({"a.proto": "message m {}", "b.proto": "message m {}"})
    assert str(ei.value) == "b.proto: message m is already defined in a.proto"


# --------------------------------------------------------------------------------------------
# extend and the (criu) options

def test_extend_field_options():
    doc = parse(OPTS, "opts.proto")
    assert doc["messages"][0]["fields"][2] == {"name": "flags", "number": 3, "label": "optional", "type": "string"}
    assert no_private_keys(doc)


@pytest.mark.parametrize("opt,criu", [
    ("(criu).hex = true", {"hex": True}),
    ("(criu).ipadd = true", {"ipadd": True}),
    ('(criu).flags = "mmap.prot"', {"flags": "mmap.prot"}),
    ("(criu).dev = true", {"dev": True}),
    ("(criu).odev = true", {"odev": True}),
    ('(criu).dict = "sk"', {"dict": "sk"}),
    ('(criu).conv = "unix_name"', {"conv": "unix_name"}),
    ("(criu).hex = false", {"hex": False}),
    ("(criu).dev = true, (criu).odev = true", {"dev": True, "odev": True}),
    ('(criu).flags = "rfile.flags" , (criu).hex = true', {"flags": "rfile.flags", "hex": True}),
])
def test_criu_options(opt, criu):
    doc = parse('import "opts.proto";\nmessage m { optional uint32 f = 1 [%s]; }' % opt, opts_proto=OPTS)
    f = fields(doc, "m")["f"]
    assert f["criu"] == criu
    assert list(f["criu"]) == list(criu)  # source order is kept


def test_criu_with_other_options_key_order():
    f = field('message m {\n  repeated uint64 f = 3 [(criu).hex = true, packed = true, deprecated = true];\n}')
    assert f == {"name": "f", "number": 3, "label": "repeated", "type": "uint64", "packed": True,
                 "deprecated": True, "criu": {"hex": True}}
    assert list(f) == ["name", "number", "label", "type", "packed", "deprecated", "criu"]


@pytest.mark.parametrize("opt,message", [
    ("(criu).bogus = true", "unknown (criu) option 'bogus'"),
    ('(criu).hex = "yes"', "(criu).hex wants a bool"),
    ("(criu).flags = true", "(criu).flags wants a str"),
    ("(criu).flags = mmap", "(criu).flags wants a str"),
    ("(criu).dict = 1", "(criu).dict wants a str"),
    ("(other).hex = true", "unknown field option '(other).hex'"),
    ("foo = true", "unknown field option 'foo'"),
])
def test_bad_field_options(opt, message):
    e = fails("message m {\n  optional uint32 f = 1 [%s];\n}" % opt)
    assert str(e) == "x.proto:2:26: " + message


# --------------------------------------------------------------------------------------------
# Comments, tokens and error positions

def test_comments_of_both_kinds_and_line_tracking():
    src = ("// leading comment with \"quote and /* opener\n"
           "/* block\n"
           "   spanning // lines */ message m { // trailing\n"
           "  optional int32 a = 1; /* inline */ optional int32 b = 2; /**/\n"
           "\toptional nope c = 3;\n"
           "}\n")
    e = fails(src)
    assert (e.line, e.col) == (5, 2)
    assert str(e) == "x.proto:5:2: unknown type 'nope' in m.c"
    ok = parse(src.replace("nope", "int32"))
    assert [f["name"] for f in ok["messages"][0]["fields"]] == ["a", "b", "c"]


def test_tokenizer_positions():
    toks = tokenize('message m {\n  optional uint32 a = 0x1f; // c\n}', "t.proto")
    got = [(t.kind, t.text, t.line, t.col) for t in toks]
    assert got[:4] == [("ident", "message", 1, 1), ("ident", "m", 1, 9), ("sym", "{", 1, 11),
                       ("ident", "optional", 2, 3)]
    assert ("int", "0x1f", 2, 23) in got
    assert got[-1][0] == "eof"


def test_error_is_crit_error_with_position_attributes():
    e = fails("syntax = \"proto2\";\nmessage m {\n    optional nope f = 1;\n}\n")
    assert isinstance(e, SchemaError) and isinstance(e, CritError)
    assert (e.line, e.col) == (3, 5)
    assert str(e) == "x.proto:3:5: unknown type 'nope' in m.f"


@pytest.mark.parametrize("src,message", [
    # missing semicolon: reported at the token where ';' was expected
    ("message m {\n    optional int32 a = 1\n    optional int32 b = 2;\n}", "x.proto:3:5: expected ';', found 'optional'"),
    ("message m {\n    optional int32 a = 1 }", "x.proto:2:26: expected ';', found '}'"),
    ("syntax = \"proto2\"\nmessage m {}", "x.proto:2:1: expected ';', found 'message'"),
    # bad field numbers: reported at the number
    ("message m {\n    optional int32 a = 0;\n}", "x.proto:2:24: field number 0 out of range"),
    ("message m {\n    optional int32 a = -3;\n}", "x.proto:2:24: field number -3 out of range"),
    ("message m {\n    optional int32 a = 19500;\n}", "x.proto:2:24: field number 19500 out of range"),
    ("message m {\n    optional int32 a = 536870912;\n}", "x.proto:2:24: field number 536870912 out of range"),
    ("message m {\n    optional int32 a = 1.5;\n}", "x.proto:2:24: expected an integer, found '1.5'"),
    ("message m {\n    optional int32 a = x;\n}", "x.proto:2:24: expected an integer, found 'x'"),
    ("message m {\n    optional int32 a = 08;\n}", "x.proto:2:24: invalid integer '08'"),
    # unterminated constructs: reported at end of file
    ("message m {\n    optional int32 a = 1;\n", "x.proto:3:1: unexpected end of file inside message m"),
    ("message m {\n  message n {\n    optional int32 a = 1;\n  }\n",
     "x.proto:5:1: unexpected end of file inside message m"),
    ("enum e {\n  A = 0;\n", "x.proto:3:1: expected a name, found 'end of file'"),
    ('import "google/protobuf/descriptor.proto";\nextend google.protobuf.FieldOptions {\n',
     "x.proto:3:1: unexpected end of file inside extend block"),
    ("message m {}\n/* never closed\n", "x.proto:2:1: unterminated /* comment"),
    ("message m {\n  optional string s = 1 [default = \"abc];\n}", "x.proto:2:36: unterminated string"),
    # other syntax errors
    ("message m {}\n  @", "x.proto:2:3: unexpected character '@'"),
    ("message m {}\nfoo;", "x.proto:2:1: unexpected 'foo' at top level"),
    ("service s {}", "x.proto:1:1: services are not supported in image protos"),
    ("message m {\n  map<string, int32> x = 1;\n}", "x.proto:2:3: expected required, optional or repeated, found 'map'"),
    ("message m {\n  optional group g = 1 {}\n}", "x.proto:2:12: group fields are not supported"),
    ("message 1m {}", "x.proto:1:9: expected a name, found '1'"),
])
def test_syntax_errors_name_file_line_and_column(src, message):
    assert str(fails(src)) == message


def test_error_names_the_right_file():
    e = fails("message ok { optional int32 a = 1; }", "a.proto",
              b_proto='import "a.proto";\n\nmessage m {\n  optional ok a = 1;\n  optional ko b = 2;\n}')
    assert str(e) == "b.proto:5:3: unknown type 'ko' in m.b"


def test_docs_sorted_and_plain():
    docs = parse_sources({"z.proto": "message z { optional uint32 a = 1; }", "a.proto": "enum a { A = 0; }"})
    assert [d["file"] for d in docs] == ["a.proto", "z.proto"]
    assert no_private_keys(docs)


# --------------------------------------------------------------------------------------------
# read_proto_dir

def test_read_proto_dir(tmp_path):
    (tmp_path / "images" / "google" / "protobuf").mkdir(parents=True)
    (tmp_path / "images" / "google" / "protobuf" / "descriptor.proto").write_text("stub")
    (tmp_path / "images" / "b.proto").write_text("message b {}")
    (tmp_path / "images" / "a.proto").write_text("message a {}")
    (tmp_path / "images" / "notes.txt").write_text("x")
    (tmp_path / "magic.h").write_text("")
    assert read_proto_dir(str(tmp_path)) == {"a.proto": "message a {}", "b.proto": "message b {}"}
    assert list(read_proto_dir(str(tmp_path / "images"))) == ["a.proto", "b.proto"]


# --------------------------------------------------------------------------------------------
# magic.h

MAGIC_H = """#ifndef __CR_MAGIC_H__
#define __CR_MAGIC_H__

#define CRTOOLS_IMAGES_V1 1
#define RAW_IMAGE_MAGIC 0x0
#define IMG_COMMON_MAGIC  0x54564319 /* Sarov (a.k.a. Arzamas-16) */
#define PAGEMAP_MAGIC\t     0x56084025 /* Vladimir */
#define SHMEM_PAGEMAP_MAGIC  PAGEMAP_MAGIC
#define PAGES_MAGIC\t     RAW_IMAGE_MAGIC
  # define INDENTED_MAGIC 12
#define PAGES_OLD_MAGIC\t      PAGEMAP_MAGIC
#define CHAINED_MAGIC SHMEM_PAGEMAP_MAGIC

#endif /* __CR_MAGIC_H__ */
"""


def test_magic_h_primaries_in_order_and_aliases_to_primary_names():
    doc = parse_magic_h(MAGIC_H)
    assert doc == {
        "file": "magic.h",
        "magics": [["RAW_IMAGE", 0], ["IMG_COMMON", 0x54564319], ["PAGEMAP", 0x56084025], ["INDENTED", 12]],
        "aliases": [["SHMEM_PAGEMAP", "PAGEMAP"], ["PAGES", "RAW_IMAGE"], ["PAGES_OLD", "PAGEMAP"],
                    ["CHAINED", "PAGEMAP"]],
    }
    # Primary names come first: a value maps back to the name that defined it, never an alias.
    by_value = {}
    for name, value in doc["magics"]:
        by_value.setdefault(value, name)
    assert by_value[0] == "RAW_IMAGE" and by_value[0x56084025] == "PAGEMAP"


def test_magic_h_errors():
    with pytest.raises(ProtoSyntaxError) as ei:
        parse_magic_h("#define A_MAGIC 1\n\n#define B_MAGIC C_MAGIC\n", "m.h")
    assert str(ei.value) == "m.h:3:1: B_MAGIC refers to unknown C_MAGIC"
    with pytest.raises(ProtoSyntaxError) as ei:
        parse_magic_h("#define A_MAGIC 1\n#define A_MAGIC 2\n")
    assert str(ei.value) == "magic.h:2:1: A_MAGIC is defined twice"
    with pytest.raises(ProtoSyntaxError) as ei:
        parse_magic_h("#define A_MAGIC 0xzz\n")
    assert str(ei.value) == "magic.h:1:1: cannot read magic value '0xzz'"


def test_magic_h_define_does_not_reach_into_next_line():
    assert parse_magic_h("#define EMPTY_MAGIC\n0x10\n#define B_MAGIC 2\n")["magics"] == [["B", 2]]
