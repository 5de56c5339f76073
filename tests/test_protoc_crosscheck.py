"""Cross-checks critcore's hand-written proto parser against protoc on CRIU's real image protos.
Every file, message, field (incl. defaults, packed, oneof and the (criu) options) and enum must match."""
from __future__ import annotations

import copy
import functools
import importlib.util
import math
import os
import shutil
import subprocess
import sys

import pytest

from critcore.schema.protoparse import parse_sources, read_proto_dir

from conftest import FORMATS, formats
VERSIONS = ("criu-dev", "v4.2", "v3.17")
DESCRIPTOR = os.path.join("google", "protobuf", "descriptor.proto")
CRIU_EXT_NUMBER = 1018
FIELD_KEYS = ("number", "label", "type", "type_name", "packed", "default", "deprecated", "oneof", "criu")
INT_TYPES = frozenset(("int32", "int64", "uint32", "uint64", "sint32", "sint64",
                       "fixed32", "fixed64", "sfixed32", "sfixed64"))


# ---------------------------------------------------------------------------------------------
# Finding protoc and a directory holding google/protobuf/descriptor.proto

def _real_descriptor_dir(candidates):
    """First candidate whose google/protobuf/descriptor.proto is the real file (v3.17 ships a
    symlink stub stored as a 45-byte text file, which protoc cannot parse)."""
    for d in candidates:
        p = os.path.join(str(d), DESCRIPTOR)
        try:
            with open(p, encoding="utf-8", errors="replace") as fh:
                if "message FieldOptions" in fh.read():
                    return str(d)
        except OSError:
            continue
    return None


def _grpc_tools_proto_dir():
    spec = importlib.util.find_spec("grpc_tools")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "_proto")


def _backends():
    """(id, command, include dir) for every protoc we can run: the one on PATH, then grpc_tools."""
    out = []
    grpc_proto = _grpc_tools_proto_dir()
    exe = shutil.which("protoc")
    if exe:
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(exe)))
        inc = _real_descriptor_dir([os.path.join(prefix, "include"), "/usr/include", "/usr/local/include"]
                                   + ([grpc_proto] if grpc_proto else []))
        if inc:
            out.append(("protoc", (exe,), inc))
    if grpc_proto:
        inc = _real_descriptor_dir([grpc_proto])
        if inc:
            out.append(("grpc_tools", (sys.executable, "-m", "grpc_tools.protoc"), inc))
    return out


BACKENDS = {name: (cmd, inc) for name, cmd, inc in _backends()}
BACKEND_PARAMS = list(BACKENDS) or [
    pytest.param(None, marks=pytest.mark.skip(reason="neither protoc nor grpc_tools is available"))]


@functools.lru_cache(maxsize=None)
def _compile(version, backend, tmpdir):
    """protoc's FileDescriptorSet (as bytes) for every top-level images/*.proto of `version`."""
    cmd, inc = BACKENDS[backend]
    images = FORMATS / version / "images"
    names = sorted(p.name for p in images.glob("*.proto"))
    out = os.path.join(tmpdir, "%s-%s.pb" % (version, backend))
    # The descriptor.proto directory goes first: v3.17's images/google/ holds only a stub.
    argv = [*cmd, "--descriptor_set_out=" + out, "--include_imports", "-I" + inc, "-I" + str(images), *names]
    res = subprocess.run(argv, capture_output=True, text=True)
    assert res.returncode == 0, "%s failed (rc %d):\n%s" % (" ".join(argv), res.returncode, res.stderr)
    with open(out, "rb") as fh:
        return fh.read()


# Debian's python3-protobuf, usable when this interpreter has no protobuf of its own.
SYSTEM_DIST = "/usr/lib/python3/dist-packages"


def _import_protobuf():
    """google.protobuf's descriptor modules: this interpreter's (the `test` extra installs it), else
    Debian's system copy for the same Python version; skip when there is neither."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: F401
        return
    except ImportError:
        pass
    pkg = os.path.join(SYSTEM_DIST, "google", "protobuf")
    # Only when the system has this very Python version (its extension modules must fit).
    if not os.path.isdir(pkg) or not os.path.isdir("/usr/lib/python%d.%d" % sys.version_info[:2]):
        pytest.skip("protobuf is not installed (pip install grpcio-tools)")
    sys.path.append(SYSTEM_DIST)
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: F401,F811
    except ImportError as e:
        pytest.skip("protobuf is not installed and %s's copy does not import: %s" % (SYSTEM_DIST, e))
    finally:
        sys.path.remove(SYSTEM_DIST)  # imported modules keep working; nothing else sees the path


@pytest.fixture(scope="module")
def pb_tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp("protoc"))


# ---------------------------------------------------------------------------------------------
# Normalising both sides to {file: {package, syntax, imports, messages: {name: [field]}, enums}}

class _CriuReader:
    """Reads the (criu) FieldOptions extension by registering opts.proto in a private pool."""

    def __init__(self, fds):
        from google.protobuf import descriptor_pool, message_factory

        self.pool = descriptor_pool.DescriptorPool()
        for f in fds.file:  # --include_imports writes dependencies first
            self.pool.Add(f)
        self.ext = self.pool.FindExtensionByName("criu")
        assert self.ext.number == CRIU_EXT_NUMBER, self.ext.number
        assert self.ext.containing_type.full_name == "google.protobuf.FieldOptions"
        fo = self.pool.FindMessageTypeByName("google.protobuf.FieldOptions")
        get_class = getattr(message_factory, "GetMessageClass", None)
        self.options_class = get_class(fo) if get_class else message_factory.MessageFactory(self.pool).GetPrototype(fo)

    def read(self, field_options):
        raw = field_options.SerializeToString()
        opts = self.options_class.FromString(raw)
        if not opts.HasExtension(self.ext):
            # Field 1018, wire type 2 is tag bytes d2 3f; if they are present the extension was
            # not recognised and the comparison would be meaningless.
            assert b"\xd2\x3f" not in raw, "(criu) option present but not decoded: %r" % raw
            return None
        return {fd.name: value for fd, value in opts.Extensions[self.ext].ListFields()}


def _protoc_default(ftype, text, where):
    if ftype == "bool":
        assert text in ("true", "false"), (where, text)
        return text == "true"
    if ftype in INT_TYPES:
        return int(text, 0)
    if ftype in ("float", "double"):
        return float(text)  # protoc writes inf, -inf and nan, which float() reads
    return text  # enum value name, string (bytes would be C-escaped; CRIU has none)


def _protoc_docs(fds_bytes):
    from google.protobuf import descriptor_pb2

    FDP = descriptor_pb2.FieldDescriptorProto
    fds = descriptor_pb2.FileDescriptorSet.FromString(fds_bytes)
    criu = _CriuReader(fds)
    stats = {"fields": 0, "criu": 0, "defaults": 0, "criu_examples": {}}
    files = {}
    for fdp in fds.file:
        if fdp.name == "google/protobuf/descriptor.proto":
            continue
        prefix = fdp.package + "." if fdp.package else ""
        messages, enums = {}, {}

        def add_enums(scope, enum_types):
            for e in enum_types:
                enums[scope + e.name] = [[v.name, v.number] for v in e.value]

        def add_message(scope, m):
            name = scope + m.name
            fields = []
            for f in m.field:
                where = "%s: %s.%s" % (fdp.name, name, f.name)
                d = {"name": f.name, "number": f.number,
                     "label": FDP.Label.Name(f.label)[len("LABEL_"):].lower(),
                     "type": FDP.Type.Name(f.type)[len("TYPE_"):].lower()}
                if f.type_name:
                    d["type_name"] = f.type_name.lstrip(".")
                if f.options.packed:
                    d["packed"] = True
                if f.HasField("default_value"):
                    d["default"] = _protoc_default(d["type"], f.default_value, where)
                    stats["defaults"] += 1
                if f.options.deprecated:
                    d["deprecated"] = True
                if f.HasField("oneof_index"):
                    d["oneof"] = m.oneof_decl[f.oneof_index].name
                c = criu.read(f.options)
                if c is not None:
                    d["criu"] = c
                    stats["criu"] += 1
                    stats["criu_examples"]["%s %s.%s" % (fdp.name, name, f.name)] = c
                stats["fields"] += 1
                fields.append(d)
            assert name not in messages, "duplicate message %s" % name
            messages[name] = fields
            add_enums(name + ".", m.enum_type)
            for n in m.nested_type:
                add_message(name + ".", n)

        add_enums(prefix, fdp.enum_type)
        for m in fdp.message_type:
            add_message(prefix, m)
        files[fdp.name] = {"package": fdp.package or None, "syntax": fdp.syntax or "proto2",
                           "imports": list(fdp.dependency), "messages": messages, "enums": enums}
    return files, stats


def _our_docs(docs):
    files = {}
    for d in docs:
        messages = {}
        for m in d["messages"]:
            assert m["name"] not in messages, "%s: duplicate message %s" % (d["file"], m["name"])
            messages[m["name"]] = m["fields"]
        enums = {}
        for e in d["enums"]:
            assert e["name"] not in enums, "%s: duplicate enum %s" % (d["file"], e["name"])
            enums[e["name"]] = e["values"]
        files[d["file"]] = {"package": d["package"], "syntax": d["syntax"], "imports": d["imports"],
                            "messages": messages, "enums": enums}
    return files


def _same(ftype, key, ours, theirs):
    """Strict equality (True is not 1); float defaults may be written as integers."""
    if key == "default" and ftype in ("float", "double") and isinstance(ours, (int, float)) \
            and not isinstance(ours, bool) and isinstance(theirs, float):
        return float(ours) == theirs or (math.isnan(ours) and math.isnan(theirs))
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(_same(ftype, key, ours[k], theirs[k]) for k in ours)
    return type(ours) is type(theirs) and ours == theirs


def compare(ours_docs, theirs):
    """Differences between our parsed docs and protoc's descriptors, one readable line each."""
    ours = _our_docs(ours_docs)
    diffs = []
    for fname in sorted(set(ours) | set(theirs)):
        if fname not in theirs:
            diffs.append("%s: parsed by critcore but not produced by protoc" % fname)
            continue
        if fname not in ours:
            diffs.append("%s: produced by protoc but missing from critcore's docs" % fname)
            continue
        o, t = ours[fname], theirs[fname]
        for key in ("package", "syntax", "imports"):
            if o[key] != t[key]:
                diffs.append("%s: %s: critcore %r != protoc %r" % (fname, key, o[key], t[key]))
        for name in sorted(set(o["messages"]) | set(t["messages"])):
            if name not in t["messages"]:
                diffs.append("%s: message %s: only in critcore" % (fname, name))
                continue
            if name not in o["messages"]:
                diffs.append("%s: message %s: missing from critcore" % (fname, name))
                continue
            of = [f["name"] for f in o["messages"][name]]
            tf = [f["name"] for f in t["messages"][name]]
            if of != tf:
                diffs.append("%s: message %s: fields critcore %r != protoc %r" % (fname, name, of, tf))
            tby = {f["name"]: f for f in t["messages"][name]}
            for f in o["messages"][name]:
                g = tby.get(f["name"])
                if g is None:
                    continue
                extra = set(f) - set(FIELD_KEYS) - {"name"}
                if extra:
                    diffs.append("%s: %s.%s: unexpected keys %s" % (fname, name, f["name"], sorted(extra)))
                for key in FIELD_KEYS:
                    if key not in f and key not in g:
                        continue
                    if not _same(g["type"], key, f.get(key), g.get(key)):
                        diffs.append("%s: %s.%s: %s: critcore %r != protoc %r"
                                     % (fname, name, f["name"], key, f.get(key), g.get(key)))
        for name in sorted(set(o["enums"]) | set(t["enums"])):
            ov, tv = o["enums"].get(name), t["enums"].get(name)
            if ov is None or tv is None:
                diffs.append("%s: enum %s: %s" % (fname, name, "only in critcore" if tv is None
                                                   else "missing from critcore"))
            elif [list(v) for v in ov] != tv:
                diffs.append("%s: enum %s: values critcore %r != protoc %r" % (fname, name, ov, tv))
    return diffs


def _report(diffs, what):
    shown = "\n  ".join(diffs[:60])
    more = "\n  ... and %d more" % (len(diffs) - 60) if len(diffs) > 60 else ""
    return "%d difference(s) between critcore's parser and %s:\n  %s%s" % (len(diffs), what, shown, more)


def _load(version, backend, tmpdir):
    _import_protobuf()
    src = formats(version)
    theirs, stats = _protoc_docs(_compile(version, backend, tmpdir))
    ours = parse_sources(read_proto_dir(str(src)))
    return ours, theirs, stats


# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("version", VERSIONS)
def test_parser_matches_protoc(version, backend, pb_tmp):
    ours, theirs, stats = _load(version, backend, pb_tmp)
    diffs = compare(ours, theirs)
    assert not diffs, _report(diffs, "protoc (%s) on %s" % (backend, version))
    # Guard against a vacuous pass: the real protos have many fields, defaults and (criu) options.
    assert len(theirs) >= 70 and stats["fields"] > 500, stats
    assert stats["defaults"] >= 10 and stats["criu"] >= 80, stats


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_criu_options_really_compared(backend, pb_tmp):
    ours, theirs, stats = _load("v4.2", backend, pb_tmp)
    ex = stats["criu_examples"]
    assert ex["core.proto task_core_entry.blk_sigset"] == {"hex": True}
    assert ex["vma.proto vma_entry.prot"] == {"flags": "mmap.prot"}
    assert ex["fh.proto irmap_cache_entry.dev"] == {"dev": True, "odev": True}
    assert ex["sit.proto sit_entry.local"] == {"ipadd": True}
    assert ex["sk-inet.proto inet_sk_entry.family"] == {"dict": "sk"}
    assert ex["sk-unix.proto unix_sk_entry.name"] == {"conv": "unix_name"}
    # ... and critcore agrees on them.
    assert not compare(ours, theirs)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_crosscheck_detects_differences(backend, pb_tmp):
    """The comparison itself must notice every kind of corruption (so a pass means something)."""
    ours, theirs, _ = _load("v4.2", backend, pb_tmp)
    docs = {d["file"]: d for d in copy.deepcopy(ours)}

    def field(fname, msg, name):
        m = next(m for m in docs[fname]["messages"] if m["name"] == msg)
        return next(f for f in m["fields"] if f["name"] == name)

    field("vma.proto", "vma_entry", "prot")["criu"] = {"flags": "mmap.flags"}
    field("core.proto", "task_core_entry", "blk_sigset")["criu"]["hex"] = 1   # 1 is not True
    field("core.proto", "task_core_entry", "exit_code")["criu"] = {"hex": True}
    field("core.proto", "task_core_entry", "comm")["number"] = 99
    field("core.proto", "task_core_entry", "timers")["type_name"] = "task_rlimits_entry"
    field("core.proto", "task_core_entry", "flags")["label"] = "optional"
    field("regfile.proto", "reg_file_entry", "mnt_id")["default"] = -2
    field("core-x86.proto", "user_desc_t", "read_exec_only")["default"] = 1   # 1 is not true
    del field("packet-sock.proto", "packet_sock_entry", "fanout")["default"]
    next(e for e in docs["core.proto"]["enums"] if e["name"] == "seccomp_mode")["values"][1][1] = 7
    docs["core.proto"]["messages"][1]["name"] = "renamed_entry"
    diffs = "\n".join(compare(list(docs.values()), theirs))
    for needle in ("vma_entry.prot: criu: critcore {'flags': 'mmap.flags'} != protoc {'flags': 'mmap.prot'}",
                   "task_core_entry.blk_sigset: criu: critcore {'hex': 1}",
                   "task_core_entry.exit_code: criu: critcore {'hex': True} != protoc None",
                   "task_core_entry.comm: number: critcore 99 != protoc 6",
                   "task_core_entry.timers: type_name",
                   "task_core_entry.flags: label: critcore 'optional' != protoc 'required'",
                   "reg_file_entry.mnt_id: default: critcore -2 != protoc -1",
                   "user_desc_t.read_exec_only: default: critcore 1 != protoc True",
                   "packet_sock_entry.fanout: default: critcore None != protoc 4294967295",
                   "enum seccomp_mode: values",
                   "message renamed_entry: only in critcore",
                   "message task_kobj_ids_entry: missing from critcore"):
        assert needle in diffs, "comparison missed %r; it reported:\n%s" % (needle, diffs)
