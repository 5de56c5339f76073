"""The critcore command line: crit's commands and flags (decode, encode, info, show, x), plus
validate, schema, stats, mem and inspect (cli_mem.py). main(argv) returns the exit status; a
failure is status 1 and one stderr line per error (only encode and validate can list several)."""
from __future__ import annotations

import argparse
import json
import os
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional

from . import __version__, cli_mem
from .errors import CritError, DecodeError, EncodeError, ValidationError


def write_atomic(path: str, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename: never a partial file."""
    import tempfile
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read_input(path: Optional[str]) -> bytes:
    if path:
        with open(path, "rb") as fh:
            return fh.read()
    stdin = sys.stdin
    return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")


def _label(path: Optional[str]) -> str:
    return os.path.basename(path) if path else "<stdin>"


def _emit_text(text: str, out: Optional[str]) -> None:
    if out:
        write_atomic(out, text.encode("utf-8"))  # crit adds no newline when writing a file
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _emit_bytes(data: bytes, out: Optional[str]) -> None:
    if out:
        write_atomic(out, data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _schema(args):
    """The run's schema (--proto-dir, else $CRITCORE_PROTO_DIR, else bundled), made once."""
    schema = getattr(args, "schema", None)
    if schema is None:
        from .schema import default_schema
        schema = args.schema = default_schema(getattr(args, "proto_dir", None))
        args.unknown_before = schema.unknown_fields
    return schema


def _warn_unknown(args) -> None:
    """One stderr line per run when a decoded image held fields the schema does not know."""
    schema = getattr(args, "schema", None)
    if schema is None or schema.unknown_fields == args.unknown_before:
        return
    where = getattr(args, "dir", None) or _label(getattr(args, "input", None))
    sys.stderr.write("critcore: warning: %s has data the schema does not know (%d unknown "
                     "field(s)); it is kept under \"__critcore__\" and encodes back unchanged; "
                     "--proto-dir DIR with the newer CRIU's .proto files reads it\n"
                     % (where, schema.unknown_fields - args.unknown_before))


def cmd_decode(args) -> int:
    from .image import ImageCodec
    from .pretty import render
    data = _read_input(args.input)
    if data[:1] in (b"{", b"[") or data[:3] == b"\xef\xbb\xbf":
        raise DecodeError("this looks like JSON; decode expects a binary image (use encode)",
                          file=_label(args.input))
    img = ImageCodec(_schema(args), pretty=args.pretty, no_payload=args.nopl,
                     file=_label(args.input)).parse(data)
    _emit_text(render(img, args.pretty), args.output)
    return 0


def _read_json(path: Optional[str]):
    """(document, label) of a JSON input; EncodeError when it is not JSON text."""
    data = _read_input(path)
    label = _label(path)
    binary = EncodeError("this looks like a binary image, not JSON; encode expects JSON (decode "
                         "makes it)", file=label, offset=0)
    if b"\0" in data[:64]:  # every CRIU image has NUL bytes in its first words; JSON never
        raise binary
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EncodeError("input is not JSON text (a binary image? encode expects JSON, "
                          "decode makes it)", file=label, offset=e.start) from None
    try:
        return json.loads(text), label
    except ValueError as e:
        raise EncodeError("not valid JSON: %s" % getattr(e, "msg", e), file=label,
                          offset=getattr(e, "pos", None)) from None
    except RecursionError:
        raise EncodeError("JSON nested too deeply", file=label) from None


def cmd_encode(args) -> int:
    from .image import ImageCodec
    img, label = _read_json(args.input)
    try:
        data = ImageCodec(_schema(args), file=label).encode(img, validate=not args.no_validate)
    except CritError as first:
        if args.no_validate:
            raise
        # The encoder stops at the first error; the JSON Schema and checks list them all.
        from .validate import Validator
        Validator.of(_schema(args)).raise_for(img, first, file=label)
        raise
    _emit_bytes(data, args.output)
    return 0


def cmd_validate(args) -> int:
    from .validate import Validator
    validator = Validator.of(_schema(args))
    status = 0
    for path in args.files:
        try:
            img, label = _read_json(path)
            if args.full:
                found = validator.errors(img, file=label, full=True)
            else:
                found = validator.check(img, file=label)
        except (CritError, OSError) as e:
            found = [e if isinstance(e, CritError) else CritError(e.strerror or str(e), file=path)]
        for e in found:
            sys.stderr.write(" ".join(str(e).split("\n")) + "\n")
        if found:
            status = 1
        elif not args.quiet:
            sys.stdout.write("%s: valid %s image, %d entries\n"
                             % (label, img["magic"], len(img["entries"])))
    return status


def cmd_info(args) -> int:
    from .image import ImageCodec
    data = _read_input(args.input)
    magic, count = ImageCodec(_schema(args), file=_label(args.input)).count(data)
    sys.stdout.write(json.dumps({"magic": magic, "count": count}, indent=4) + "\n")
    return 0


def cmd_x(args) -> int:
    from .explore import EXPLORERS, Checkpoint
    from .explore.render import render_json, render_text
    model = EXPLORERS[args.what](Checkpoint(args.dir, schema=_schema(args)))
    sys.stdout.write(render_json(model) if args.json else render_text(args.what, model))
    return 0


def cmd_stats(args) -> int:
    from .explore import Checkpoint, explore_stats
    from .explore.render import render_json, render_text
    model = explore_stats(Checkpoint(args.dir, need_pstree=False, schema=_schema(args)))
    sys.stdout.write(render_json(model) if args.json else render_text("stats", model))
    return 0


def cmd_schema(args) -> int:
    what = args.what
    if what and what[0] == "diff":
        if len(what) != 3:
            raise CritError("usage: critcore schema diff OLD NEW (each a proto dir, a YAML "
                            "schema dir or \"bundled\")")
        try:
            from .schema.diff import schema_diff
        except ImportError as e:
            raise CritError("schema diff is not available (%s)" % e) from None
        print(schema_diff(what[1], what[2]), end="")
        return 0
    from .validate import Validator
    from .validate.jsonschema_gen import magic_names
    validator = Validator.of(_schema(args))
    if args.all:
        if what or not args.output:
            raise CritError("usage: critcore schema --all -o DIR")
        os.makedirs(args.output, exist_ok=True)
        for magic in magic_names(validator.schema):
            write_atomic(os.path.join(args.output, magic + ".schema.json"),
                         _schema_text(validator.json_schema(magic)).encode("utf-8"))
        return 0
    if len(what) != 1:
        raise CritError("usage: critcore schema MAGIC [-o FILE] | --all -o DIR | diff OLD NEW")
    doc = validator.json_schema(what[0])
    if doc is None:
        raise CritError("%r is not the magic of an image with protobuf entries (one of: %s)"
                        % (what[0], ", ".join(magic_names(validator.schema))))
    _emit_text(_schema_text(doc), args.output)
    return 0


def _schema_text(doc: dict) -> str:
    return json.dumps(doc, indent=2)


PROTO_DIR_HELP = ("read .proto files (DIR or DIR/images, optional magic.h) or proto2yaml YAML "
                  "from DIR, laid over the bundled schema (default: $CRITCORE_PROTO_DIR)")

COMMANDS: Dict[str, Callable] = {
    "decode": cmd_decode,
    "show": cmd_decode,
    "encode": cmd_encode,
    "info": cmd_info,
    "x": cmd_x,
    "stats": cmd_stats,
    "schema": cmd_schema,
    "validate": cmd_validate,
    "mem": cli_mem.cmd_mem,
    "inspect": cli_mem.cmd_inspect,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="critcore", description="CRIU image tool (crit-compatible)")
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--proto-dir", metavar="DIR", help=PROTO_DIR_HELP)
    sub = p.add_subparsers(dest="cmd")  # usage lists {decode,encode,...} as crit does

    d = sub.add_parser("decode", help="convert a criu image from binary to JSON")
    d.add_argument("--pretty", action="store_true",
                   help="multiline with indents and some fields in field-specific format")
    d.add_argument("-i", "--in", dest="input", help="image to decode (stdin by default)")
    d.add_argument("-o", "--out", dest="output", help="where to put the JSON (stdout by default)")
    d.set_defaults(nopl=False)

    e = sub.add_parser("encode", help="convert a criu image from JSON to binary")
    e.add_argument("-i", "--in", dest="input", help="JSON to encode (stdin by default)")
    e.add_argument("-o", "--out", dest="output", help="where to put the image (stdout by default)")
    e.add_argument("--no-validate", action="store_true",
                   help="let required fields be missing and payloads disagree with their sizes, "
                        "and report only the first error")

    i = sub.add_parser("info", help="show the magic and the number of entries of an image")
    i.add_argument("input", metavar="in")

    s = sub.add_parser("show", help="convert a criu image from binary to human-readable JSON")
    s.add_argument("input", metavar="in")
    s.add_argument("--nopl", action="store_true", help="do not show entry payload (if exists)")
    s.set_defaults(pretty=True, output=None)

    x = sub.add_parser("x", help="explore a checkpoint directory")
    x.add_argument("dir")
    x.add_argument("what", choices=["ps", "fds", "mems", "rss", "sk"])
    x.add_argument("--json", action="store_true",
                   help="print the result as JSON (docs/json-output.schema.json)")

    st = sub.add_parser("stats", help="show the dump and restore statistics of a checkpoint")
    st.add_argument("dir")
    st.add_argument("--json", action="store_true",
                    help="print the result as JSON (docs/json-output.schema.json)")

    sc = sub.add_parser("schema", help="print the JSON Schema of an image kind (MAGIC), write "
                        "all of them (--all -o DIR), or `diff OLD NEW`: what changed between "
                        "two schema sets (proto dirs, YAML schema dirs or \"bundled\")")
    sc.add_argument("what", nargs="*", metavar="MAGIC | diff OLD NEW")
    sc.add_argument("--all", action="store_true", help="every image kind, as DIR/MAGIC.schema.json")
    sc.add_argument("-o", "--out", dest="output", help="output file (a directory with --all)")

    v = sub.add_parser("validate", help="check JSON documents as encode would, listing every error")
    v.add_argument("files", nargs="+", metavar="FILE.json")
    v.add_argument("--full", action="store_true",
                   help="always run the JSON Schema and checks (slow on big documents), not "
                        "only to explain what the encoder rejects")
    v.add_argument("-q", "--quiet", action="store_true", help="print nothing for valid files")
    cli_mem.add_parsers(sub)  # mem, inspect
    for cmd in sub.choices.values():
        # After the subcommand too; SUPPRESS keeps a value given before it.
        cmd.add_argument("--proto-dir", metavar="DIR", default=argparse.SUPPRESS,
                         help=PROTO_DIR_HELP)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if not args.cmd:
        parser.print_usage(sys.stderr)
        sys.stderr.write("critcore: error: too few arguments\n")
        return 1
    try:
        status = COMMANDS[args.cmd](args)
        _warn_unknown(args)
        return status
    except CritError as e:
        for one in e.errors if isinstance(e, ValidationError) else [e]:
            sys.stderr.write(" ".join(str(one).split("\n")) + "\n")
    except BrokenPipeError:
        sys.stderr.write("critcore: output closed early\n")
    except OSError as e:
        where = e.filename if e.filename is not None else "critcore"
        sys.stderr.write("%s: %s\n" % (where, e.strerror or e))
    except MemoryError:
        sys.stderr.write("critcore: out of memory\n")
    except Exception as e:  # a bug: still one line, but say so
        if os.environ.get("CRITCORE_DEBUG"):
            raise
        sys.stderr.write("critcore: internal error: %s: %s (set CRITCORE_DEBUG=1 for a traceback)\n"
                         % (type(e).__name__, " ".join(str(e).split())))
    return 1


def main_entry() -> None:
    sys.exit(main())
