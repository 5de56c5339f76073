"""The critcore command line: crit's commands and flags (decode, encode, info, show, x).
main(argv) returns the exit status; every failure is one line on stderr and status 1."""
from __future__ import annotations

import argparse
import json
import os
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional

from . import __version__
from .errors import CritError, DecodeError, EncodeError


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


def cmd_decode(args) -> int:
    from .image import ImageCodec
    from .pretty import render
    data = _read_input(args.input)
    if data[:1] in (b"{", b"[") or data[:3] == b"\xef\xbb\xbf":
        raise DecodeError("this looks like JSON; decode expects a binary image (use encode)",
                          file=_label(args.input))
    img = ImageCodec(pretty=args.pretty, no_payload=args.nopl, file=_label(args.input)).parse(data)
    _emit_text(render(img, args.pretty), args.output)
    return 0


def cmd_encode(args) -> int:
    from .image import ImageCodec
    data = _read_input(args.input)
    label = _label(args.input)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise EncodeError("input is not JSON text (a binary image? encode expects JSON, "
                          "decode makes it)", file=label, offset=e.start) from None
    try:
        img = json.loads(text)
    except ValueError as e:
        raise EncodeError("not valid JSON: %s" % getattr(e, "msg", e), file=label,
                          offset=getattr(e, "pos", None)) from None
    _emit_bytes(ImageCodec(file=label).encode(img), args.output)
    return 0


def cmd_info(args) -> int:
    from .image import ImageCodec
    data = _read_input(args.input)
    magic, count = ImageCodec(file=_label(args.input)).count(data)
    sys.stdout.write(json.dumps({"magic": magic, "count": count}, indent=4) + "\n")
    return 0


def cmd_x(args) -> int:
    from .explore import EXPLORERS, Checkpoint
    from .explore.render import render_text
    model = EXPLORERS[args.what](Checkpoint(args.dir))
    sys.stdout.write(render_text(args.what, model))
    return 0


COMMANDS: Dict[str, Callable] = {
    "decode": cmd_decode,
    "show": cmd_decode,
    "encode": cmd_encode,
    "info": cmd_info,
    "x": cmd_x,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="critcore", description="CRIU image tool (crit-compatible)")
    p.add_argument("--version", action="version", version=__version__)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    d = sub.add_parser("decode", help="convert a criu image from binary to JSON")
    d.add_argument("--pretty", action="store_true",
                   help="multiline with indents and some fields in field-specific format")
    d.add_argument("-i", "--in", dest="input", help="image to decode (stdin by default)")
    d.add_argument("-o", "--out", dest="output", help="where to put the JSON (stdout by default)")
    d.set_defaults(nopl=False)

    e = sub.add_parser("encode", help="convert a criu image from JSON to binary")
    e.add_argument("-i", "--in", dest="input", help="JSON to encode (stdin by default)")
    e.add_argument("-o", "--out", dest="output", help="where to put the image (stdout by default)")

    i = sub.add_parser("info", help="show the magic and the number of entries of an image")
    i.add_argument("input", metavar="in")

    s = sub.add_parser("show", help="convert a criu image from binary to human-readable JSON")
    s.add_argument("input", metavar="in")
    s.add_argument("--nopl", action="store_true", help="do not show entry payload (if exists)")
    s.set_defaults(pretty=True, output=None)

    x = sub.add_parser("x", help="explore a checkpoint directory")
    x.add_argument("dir")
    x.add_argument("what", choices=["ps", "fds", "mems", "rss"])
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
        return COMMANDS[args.cmd](args)
    except CritError as e:
        sys.stderr.write(" ".join(str(e).split("\n")) + "\n")
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
