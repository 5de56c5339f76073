"""How entries sit in each kind of image: plain size-prefixed messages, or messages followed by
raw payloads (pipes, queues, TCP streams, ghost files, SysV IPC). One reader/writer pair per layout."""
from __future__ import annotations

import array
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, Iterator, List

from ..errors import CritError, EncodeError
from ..message import PLAIN, MessageCodec, forms
from ..message.convert import b64_decode, b64_encode, json_type
from .stream import U32, Cursor, Writer


class Ctx:
    """What a layout needs: the image kind, the schema, the view, and --nopl."""
    __slots__ = ("kind", "schema", "view", "no_payload")

    def __init__(self, kind, schema, view, no_payload: bool):
        self.kind, self.schema, self.view, self.no_payload = kind, schema, view, no_payload

    def codec(self, name: str, plain: bool = False) -> MessageCodec:
        return MessageCodec.get(self.schema, name, PLAIN if plain else self.view)


def round_up(x: int, y: int) -> int:
    return ((x + y - 1) // y) * y


def human_readable(num: float) -> str:
    """crit's --nopl size text.

    >>> human_readable(12), human_readable(1536)
    ('12B', '1.5KB')
    """
    for unit in ("", "K", "M", "G", "T", "P", "E", "Z"):
        if num < 1024.0:
            if int(num) == num:
                return "%d%sB" % (num, unit)
            return "%.1f%sB" % (num, unit)
        num /= 1024.0
    return "%.1fYB" % num


def placeholder(size: int) -> str:
    return "... <%s>" % human_readable(size)


def num(entry: dict, name: str, path: str, cur=None) -> int:
    """An integer field a layout depends on (pretty views may show it as a hex string)."""
    v = entry.get(name, 0)
    if isinstance(v, str):
        try:
            v = int(v, 0)
        except ValueError:
            v = None
    if type(v) is not int or v < 0:
        msg = "%s must be a non-negative integer" % name
        if cur is not None:
            raise cur.error(msg, path + "." + name)
        raise EncodeError(msg, path=path + "." + name)
    return v


# ---------------------------------------------------------------- readers
# A reader yields entries; `cur` is positioned after the image head.

def read_plain(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    return _entries_of(cur, ctx.codec(ctx.kind.entry), 0)


def read_pagemap(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    if not cur.at_end():
        yield cur.message(ctx.codec(ctx.kind.params["head"]), "entries[0]")
        yield from _entries_of(cur, ctx.codec(ctx.kind.entry), 1)


def _entries_of(cur: Cursor, codec: MessageCodec, i: int) -> Iterator[dict]:
    """Size-prefixed messages to the end of the file: Cursor.message, inlined for big images."""
    buf, pos, end = cur.buf, cur.pos, cur.end
    decode = codec.decode
    unpack = U32.unpack_from
    while pos < end:
        start = pos + 4
        if start > end or start + unpack(buf, pos)[0] > end:
            cur.pos = pos
            cur.message(codec, "entries[%d]" % i)  # raises the precise error
        pos = start + unpack(buf, pos)[0]
        try:
            e = decode(buf[start:pos])
        except CritError as err:
            raise err.at(file=cur.file, base=start, prefix="entries[%d]" % i) from None
        cur.pos = pos
        yield e
        i += 1


def _read_entries(cur: Cursor, ctx: Ctx) -> Iterator[tuple]:
    """(path, entry) for each size-prefixed entry message; the caller reads what follows it."""
    codec = ctx.codec(ctx.kind.entry)
    i = 0
    while not cur.at_end():
        path = "entries[%d]" % i
        yield path, cur.message(codec, path)
        i += 1


def read_payload(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    sizes = ctx.kind.params["size"]
    for path, e in _read_entries(cur, ctx):
        size = sum(num(e, s, path, cur) for s in sizes)
        if ctx.no_payload:
            cur.skip(size, "payload", path + ".extra")
            e["extra"] = placeholder(size)
        else:
            e["extra"] = b64_encode(cur.take(size, "payload", path + ".extra"))
        yield e


def read_tcp_stream(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    for path, e in _read_entries(cur, ctx):
        inq, outq = num(e, "inq_len", path, cur), num(e, "outq_len", path, cur)
        if ctx.no_payload:
            cur.skip(inq + outq, "queue data", path + ".extra")
            e["extra"] = placeholder(inq + outq)
        else:
            e["extra"] = {"inq": b64_encode(cur.take(inq, "in-queue", path + ".extra.inq")),
                          "outq": b64_encode(cur.take(outq, "out-queue", path + ".extra.outq"))}
        yield e


def read_ipc_sem(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    for path, e in _read_entries(cur, ctx):
        size = 2 * num(e, "nsems", path, cur)
        data = cur.take(size, "semaphore values", path + ".extra")
        cur.skip(round_up(size, 8) - size, "semaphore padding", path + ".extra")
        if ctx.no_payload:
            e["extra"] = placeholder(size)
        else:
            vals = array.array("H")
            vals.frombytes(data)
            if sys.byteorder != "little":
                vals.byteswap()
            e["extra"] = vals.tolist()
        yield e


def read_ipc_msg(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    msg_codec = ctx.codec(ctx.kind.params["msg"], plain=True)  # crit shows messages plain
    for path, e in _read_entries(cur, ctx):
        extra: List[object] = []
        pl_len = 0
        for k in range(num(e, "qnum", path, cur)):
            if cur.at_end():
                break  # crit stops quietly at the end of the file
            mpath = "%s.extra[%d]" % (path, 2 * k)
            start = cur.pos
            m = cur.message(msg_codec, mpath)
            msize = num(m, "msize", mpath, cur)
            pl_len += (cur.pos - start - 4) + msize
            data = cur.take(msize, "message data", "%s.extra[%d]" % (path, 2 * k + 1))
            cur.skip(round_up(msize, 8) - msize, "message padding", mpath)
            extra += (m, b64_encode(data))
        e["extra"] = placeholder(pl_len) if ctx.no_payload else extra
        yield e


def read_ipc_shm(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    for path, e in _read_entries(cur, ctx):
        if not e.get("in_pagemaps"):  # contents live in the shmem pagemap otherwise
            size = num(e, "size", path, cur)
            data = cur.take(size, "segment data", path + ".extra")
            cur.skip(round_up(size, 4) - size, "segment padding", path + ".extra")
            e["extra"] = placeholder(size) if ctx.no_payload else b64_encode(data)
        yield e


def read_ghost_file(cur: Cursor, ctx: Ctx) -> Iterator[dict]:
    head = cur.message(ctx.codec(ctx.kind.entry), "entries[0]")
    if head.get("chunks"):
        yield head
        codec = ctx.codec(ctx.kind.params["chunk"])
        i = 1
        while not cur.at_end():
            path = "entries[%d]" % i
            e = cur.message(codec, path)
            n = num(e, "len", path, cur)
            if ctx.no_payload:
                cur.skip(n, "chunk data", path + ".extra")
            else:
                e["extra"] = b64_encode(cur.take(n, "chunk data", path + ".extra"))
            yield e
            i += 1
    else:
        data = cur.take(cur.left(), "file data", "entries[0].extra")
        if not ctx.no_payload:
            head["extra"] = b64_encode(data)
        yield head


# ---------------------------------------------------------------- writers
# Writers check what the generated JSON Schema and critcore.validate.checks check, and stop at
# the first error; with a lenient view (encode --no-validate) payloads need not match their sizes.

def _extra(entry: dict, path: str):
    if "extra" not in entry:
        raise EncodeError("required field is missing (the entry's payload)", path=path + ".extra")
    return entry["extra"]


def size_of(entry: dict, name: str) -> int:
    """A size field of an entry whose message has been encoded, so it holds a valid value:
    an int, an integral float or an integer string (absent: 0)."""
    v = entry.get(name, 0)
    if type(v) is str:
        v = forms.int_parser(False)(v)
    return forms.as_int(v)


def _blob(value, want: int, path: str, what: str, strict: bool) -> bytes:
    """Base64 payload that must decode to exactly the size its entry announces."""
    try:
        data = b64_decode(value)
    except CritError as e:
        raise e.at(prefix=path) from None
    if strict and len(data) != want:
        raise EncodeError("%s is %d bytes but the entry says %d" % (what, len(data), want), path=path)
    return data


def _write_entries(entries, ctx: Ctx):
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise EncodeError("expected an object, got %s" % json_type(e), path="entries[%d]" % i)
        yield "entries[%d]" % i, e


def write_plain(entries: list, w: Writer, ctx: Ctx) -> None:
    _write_messages(entries, 0, w, ctx.codec(ctx.kind.entry))


def write_pagemap(entries: list, w: Writer, ctx: Ctx) -> None:
    if entries:
        _write_messages(entries[:1], 0, w, ctx.codec(ctx.kind.params["head"]))
        _write_messages(entries[1:], 1, w, ctx.codec(ctx.kind.entry))


def _write_messages(entries: list, first: int, w: Writer, codec: MessageCodec) -> None:
    """Size-prefixed messages with nothing after them: Writer.message, inlined for big images."""
    out = w.out
    encode_into = codec.encode_into
    pack_into = U32.pack_into
    for i, e in enumerate(entries, first):
        if type(e) is not dict:
            raise EncodeError("expected an object, got %s" % json_type(e), path="entries[%d]" % i)
        start = len(out)
        out += b"\0\0\0\0"  # the size, filled in once the message is written after it
        try:
            encode_into(out, e)
        except CritError as err:
            raise err.at(prefix="entries[%d]" % i) from None
        size = len(out) - start - 4
        if size > 0xFFFFFFFF:
            raise EncodeError("entry of %d bytes does not fit a u32 size" % size,
                              path="entries[%d]" % i)
        pack_into(out, start, size)


def write_payload(entries: list, w: Writer, ctx: Ctx) -> None:
    codec = ctx.codec(ctx.kind.entry)
    for path, e in _write_entries(entries, ctx):
        w.message(codec, e, path)
        size = sum(size_of(e, s) for s in ctx.kind.params["size"])
        w.raw(_blob(_extra(e, path), size, path + ".extra", "payload", ctx.view.strict))


def write_tcp_stream(entries: list, w: Writer, ctx: Ctx) -> None:
    codec = ctx.codec(ctx.kind.entry)
    for path, e in _write_entries(entries, ctx):
        w.message(codec, e, path)
        extra = _extra(e, path)
        if type(extra) is not dict:
            raise EncodeError('expected {"inq": base64, "outq": base64}, got %s' % json_type(extra),
                              path=path + ".extra")
        for q in extra:
            if q not in ("inq", "outq"):
                raise EncodeError("unknown key %r (the queues are inq and outq)" % q,
                                  path="%s.extra.%s" % (path, q))
        for q, f in (("inq", "inq_len"), ("outq", "outq_len")):
            if q not in extra:
                raise EncodeError("required field is missing", path="%s.extra.%s" % (path, q))
            w.raw(_blob(extra[q], size_of(e, f), path + ".extra." + q, q, ctx.view.strict))


def write_ipc_sem(entries: list, w: Writer, ctx: Ctx) -> None:
    codec = ctx.codec(ctx.kind.entry)
    for path, e in _write_entries(entries, ctx):
        w.message(codec, e, path)
        nsems = size_of(e, "nsems")
        vals = _extra(e, path)
        if type(vals) is not list:
            raise EncodeError("expected an array of semaphore values, got %s" % json_type(vals),
                              path=path + ".extra")
        ints = []
        for k, v in enumerate(vals):
            n = forms.as_int(v)
            if n is None or not 0 <= n <= 0xFFFF:
                raise EncodeError("a semaphore value is an integer from 0 to 65535",
                                  path="%s.extra[%d]" % (path, k))
            ints.append(n)
        if ctx.view.strict and len(ints) != nsems:
            raise EncodeError("%d semaphore values but nsems says %d" % (len(ints), nsems),
                              path=path + ".extra")
        data = array.array("H", ints)
        if sys.byteorder != "little":
            data.byteswap()
        w.raw(data.tobytes() + b"\0" * (round_up(2 * len(ints), 8) - 2 * len(ints)))


def write_ipc_msg(entries: list, w: Writer, ctx: Ctx) -> None:
    codec = ctx.codec(ctx.kind.entry)
    msg_codec = ctx.codec(ctx.kind.params["msg"])
    strict = ctx.view.strict
    for path, e in _write_entries(entries, ctx):
        w.message(codec, e, path)
        extra = _extra(e, path)
        if type(extra) is not list:
            raise EncodeError("expected an array [message, base64, ...], got %s" % json_type(extra),
                              path=path + ".extra")
        for k in range(0, len(extra), 2):
            mpath = "%s.extra[%d]" % (path, k)
            w.message(msg_codec, extra[k], mpath, ignore=())
            if k + 1 == len(extra):
                raise EncodeError("the last message has no data after it (an odd number of items)",
                                  path=path + ".extra")
            msize = size_of(extra[k], "msize")
            data = _blob(extra[k + 1], msize, "%s.extra[%d]" % (path, k + 1), "message data", strict)
            w.raw(data + b"\0" * (round_up(len(data), 8) - len(data)))
        qnum = size_of(e, "qnum")
        if strict and len(extra) // 2 != qnum:
            raise EncodeError("%d messages but qnum says %d" % (len(extra) // 2, qnum),
                              path=path + ".extra")


def write_ipc_shm(entries: list, w: Writer, ctx: Ctx) -> None:
    codec = ctx.codec(ctx.kind.entry)
    for path, e in _write_entries(entries, ctx):
        w.message(codec, e, path)
        if e.get("in_pagemaps"):
            if "extra" in e:
                raise EncodeError("an in_pagemaps segment has no inline data", path=path + ".extra")
            continue
        data = _blob(_extra(e, path), size_of(e, "size"), path + ".extra", "segment data",
                     ctx.view.strict)
        w.raw(data + b"\0" * (round_up(len(data), 4) - len(data)))


def write_ghost_file(entries: list, w: Writer, ctx: Ctx) -> None:
    if not entries:
        raise EncodeError("a ghost file image has at least one entry", path="entries")
    items = list(_write_entries(entries, ctx))
    path, head = items[0]
    w.message(ctx.codec(ctx.kind.entry), head, path)
    if head.get("chunks"):
        if "extra" in head:
            raise EncodeError("a chunked ghost file keeps its data in the chunks", path=path + ".extra")
        codec = ctx.codec(ctx.kind.params["chunk"])
        for path, e in items[1:]:
            w.message(codec, e, path)
            w.raw(_blob(_extra(e, path), size_of(e, "len"), path + ".extra", "chunk data",
                        ctx.view.strict))
    else:
        if len(items) > 1:
            raise EncodeError("an unchunked ghost file has exactly one entry", path="entries")
        if "extra" in head:
            try:
                w.raw(b64_decode(head["extra"]))
            except CritError as e:
                raise e.at(prefix=path + ".extra") from None


class Layout:
    """A reader and a writer; `countable` says info may count by walking size prefixes
    (entries carry no payload), `head_entries` how many leading entries info leaves out."""
    __slots__ = ("read", "write", "countable", "head_entries")

    def __init__(self, read: Callable, write: Callable, countable: bool = False,
                 head_entries: int = 0):
        self.read, self.write, self.countable, self.head_entries = read, write, countable, head_entries


LAYOUTS: Dict[str, Layout] = {
    "plain": Layout(read_plain, write_plain, countable=True),
    "pagemap": Layout(read_pagemap, write_pagemap, countable=True, head_entries=1),
    "payload": Layout(read_payload, write_payload),
    "tcp_stream": Layout(read_tcp_stream, write_tcp_stream),
    "ipc_sem": Layout(read_ipc_sem, write_ipc_sem),
    "ipc_msg": Layout(read_ipc_msg, write_ipc_msg),
    "ipc_shm": Layout(read_ipc_shm, write_ipc_shm),
    "ghost_file": Layout(read_ghost_file, write_ghost_file),
}
