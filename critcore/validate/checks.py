"""The rules JSON Schema cannot express: the magic name, the PAGEMAP head entry, and payloads
whose length must match a header field. Each finding is (JSON path, message), like the schema's."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, List, Optional, Tuple

from ..errors import CritError
from ..message import forms
from ..message.convert import b64_decode, json_type
from ..schema import ImageKind, Schema

def check_image(img, schema: Schema) -> List[Tuple[str, str]]:
    """Findings for a whole document; when the magic is unusable it is the only one.

    >>> from critcore.schema import default_schema
    >>> check_image({"magic": "BANANA", "entries": []}, default_schema())
    [('magic', "'BANANA' is not the magic of an image with protobuf entries")]
    """
    if not isinstance(img, dict):
        return [("", "an image is an object with \"magic\" and \"entries\", got %s"
                 % json_type(img))]
    kind, problem = image_kind(img, schema)
    if kind is None:
        return [("magic", problem)]
    entries = img.get("entries")
    if not isinstance(entries, list):
        return []  # the schema says what is wrong
    found = list(getattr(_Checks, kind.layout, _Checks.plain)(entries, kind))
    return found + list(too_deep(img, kind, schema))


def image_kind(img: dict, schema: Schema) -> Tuple[Optional[ImageKind], str]:
    """The kind a document's magic names, or None and why not."""
    name = img.get("magic")
    if "magic" not in img:
        return None, "required field is missing"
    if not isinstance(name, str):
        return None, "expected a magic name (a string), got %s" % json_type(name)
    kind = schema.image_kind(name)
    if kind is None:
        return None, "%r is not the magic of an image with protobuf entries" % name
    return kind, ""


def value(entry, name: str) -> Optional[int]:
    """A header field as a number, or None when it is missing or invalid (the schema reports
    invalid ones; a missing required one too)."""
    if not isinstance(entry, dict) or name not in entry:
        return None
    v = entry[name]
    if type(v) is str:
        try:
            return forms.int_parser(False)(v)
        except CritError:
            return None
    v = forms.as_int(v)
    return v if v is not None and v >= 0 else None


def payload(data) -> Optional[bytes]:
    try:
        return b64_decode(data)
    except CritError:
        return None  # the schema's pattern reports it


def _length(data, want: Optional[int], path: str, what: str, header: str) -> Iterator[tuple]:
    raw = payload(data)
    if raw is not None and want is not None and len(raw) != want:
        yield path, "%s is %d bytes but %s says %d" % (what, len(raw), header, want)


def _dicts(entries: list, first: int = 0) -> Iterator[Tuple[str, dict]]:
    for i in range(first, len(entries)):
        e = entries[i]
        if isinstance(e, dict):
            yield "entries[%d]" % i, e


class _Checks:
    """One generator per layout, named after it; each yields (path, message)."""

    @staticmethod
    def plain(entries: list, kind: ImageKind) -> Iterator[tuple]:
        return iter(())

    @staticmethod
    def pagemap(entries: list, kind: ImageKind) -> Iterator[tuple]:
        head = entries[0] if entries else None
        if isinstance(head, dict) and "pages_id" not in head and "vaddr" in head:
            yield "entries[0]", ("a PAGEMAP image starts with its %s entry ({\"pages_id\": N}); "
                                 "this looks like a %s" % (kind.params["head"], kind.entry))

    @staticmethod
    def payload(entries: list, kind: ImageKind) -> Iterator[tuple]:
        sizes = kind.params["size"]
        for path, e in _dicts(entries):
            vals = [value(e, s) for s in sizes]
            want = None if None in vals else sum(vals)
            yield from _length(e.get("extra"), want, path + ".extra", "the payload",
                               " + ".join(sizes))

    @staticmethod
    def tcp_stream(entries: list, kind: ImageKind) -> Iterator[tuple]:
        for path, e in _dicts(entries):
            extra = e.get("extra")
            if isinstance(extra, dict):
                for q in ("inq", "outq"):
                    yield from _length(extra.get(q), value(e, q + "_len"),
                                       "%s.extra.%s" % (path, q), q, q + "_len")

    @staticmethod
    def ipc_sem(entries: list, kind: ImageKind) -> Iterator[tuple]:
        for path, e in _dicts(entries):
            extra, nsems = e.get("extra"), value(e, "nsems")
            if isinstance(extra, list) and nsems is not None and len(extra) != nsems:
                yield path + ".extra", ("%d semaphore values but nsems says %d"
                                        % (len(extra), nsems))

    @staticmethod
    def ipc_msg(entries: list, kind: ImageKind) -> Iterator[tuple]:
        for path, e in _dicts(entries):
            extra = e.get("extra")
            if not isinstance(extra, list):
                continue
            for k, item in enumerate(extra):
                ipath = "%s.extra[%d]" % (path, k)
                if k % 2 == 0 and not isinstance(item, dict):
                    yield ipath, "expected an ipc_msg object (items alternate message, data), " \
                                 "got %s" % json_type(item)
                elif k % 2 == 1 and not isinstance(item, str):
                    yield ipath, "expected the message's data as base64 (items alternate " \
                                 "message, data), got %s" % json_type(item)
                elif k % 2 == 1:
                    yield from _length(item, value(extra[k - 1], "msize"), ipath,
                                       "the message data", "msize")
            qnum = value(e, "qnum")
            if len(extra) % 2:
                yield path + ".extra", "the last message has no data after it (an odd number " \
                                       "of items)"
            elif qnum is not None and len(extra) // 2 != qnum:
                yield path + ".extra", "%d messages but qnum says %d" % (len(extra) // 2, qnum)

    @staticmethod
    def ipc_shm(entries: list, kind: ImageKind) -> Iterator[tuple]:
        for path, e in _dicts(entries):
            if e.get("in_pagemaps") is not True and "extra" in e:
                yield from _length(e["extra"], value(e, "size"), path + ".extra",
                                   "the segment data", "size")

    @staticmethod
    def ghost_file(entries: list, kind: ImageKind) -> Iterator[tuple]:
        head = entries[0] if entries else None
        if not isinstance(head, dict) or head.get("chunks") is not True:
            return
        for path, e in _dicts(entries, 1):
            yield from _length(e.get("extra"), value(e, "len"), path + ".extra",
                               "the chunk data", "len")


def too_deep(img, kind: ImageKind, schema: Schema) -> Iterator[tuple]:
    """Messages that contain themselves (cgroup_dir_entry, aa_namespace) nested deeper than the
    codec's MAX_DEPTH: the encoder and decoder stop there, as protobuf does."""
    from ..message.codec import MAX_DEPTH
    leads = _leads_to_recursion(schema)
    entries = img.get("entries") if isinstance(img, dict) else None
    if not isinstance(entries, list) or not leads:
        return
    for path, e in _dicts(entries):
        msg = kind.entry  # the layouts with recursive messages are plain ones
        todo = [(path, e, msg, {})]
        while todo:
            path, obj, msg, depth = todo.pop()
            if depth.get(msg, 0) > MAX_DEPTH:
                yield path, "%s messages nested more than %d levels deep" % (msg, MAX_DEPTH)
                break
            for f in schema.message(msg).fields:
                if f.type != "message" or f.type_name not in leads or f.name not in obj:
                    continue
                v = obj[f.name]
                items = v if f.repeated and isinstance(v, list) else [v] if not f.repeated else []
                for j, item in enumerate(items):
                    if isinstance(item, dict):
                        sub = "%s.%s%s" % (path, f.name, "[%d]" % j if f.repeated else "")
                        d = dict(depth)
                        d[f.type_name] = d.get(f.type_name, 0) + 1
                        todo.append((sub, item, f.type_name, d))


def _leads_to_recursion(schema: Schema) -> frozenset:
    """Message names from which a message that contains itself can be reached (kept in the
    schema's memo table: it walks every message once)."""
    key = ("critcore.validate", "leads to recursion")
    found = schema.codecs.get(key)
    if found is None:
        found = schema.codecs[key] = _find_leads(schema)
    return found


def _find_leads(schema: Schema) -> frozenset:
    graph = {n: {f.type_name for f in schema.message(n).fields if f.type == "message"}
             for n in schema.message_names()}
    reach = {}
    for n in graph:
        seen, todo = set(), [n]
        while todo:
            for m in graph.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        reach[n] = seen
    recursive = {n for n in graph if n in reach[n]}
    return frozenset(n for n in graph if n in recursive or reach[n] & recursive)
