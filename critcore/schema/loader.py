"""Loads schema/ (generated YAML + hand-written images.yaml and pretty.yaml) into a Schema.
YAML is parsed once per content hash and kept as JSON in $XDG_CACHE_HOME/critcore; descriptor
objects are then built lazily, only for the messages an image actually uses."""
from __future__ import annotations

import functools
import json
import os
import zlib
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, List, Optional, Tuple

from ..errors import SchemaError
from .descriptors import EnumDesc, Frozen, MessageDesc

CACHE_VERSION = "1"
HAND_WRITTEN = ("images.yaml", "pretty.yaml")


class ImageKind(Frozen):
    """What one image magic holds (images.yaml): its head ("common", "service" or "none"
    for inventory), the message of each entry, the layout and the layout's parameters."""
    __slots__ = ("name", "magic", "head", "entry", "layout", "params")
    _defaults = {"layout": "plain", "params": MappingProxyType({})}


def bundled_schema_dir() -> str:
    """schema/ of a source checkout, else the copy installed as the package critcore._schema."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    checkout = os.path.join(here, "schema")
    if os.path.isfile(os.path.join(checkout, "magic.yaml")):
        return checkout
    import importlib
    try:
        # A namespace package (schema/ holds no Python): its __path__ names the directory.
        paths = list(importlib.import_module("critcore._schema").__path__)
    except ImportError:
        paths = []
    for p in paths:
        if os.path.isfile(os.path.join(p, "magic.yaml")):
            return p
    raise SchemaError("the bundled schema is missing (looked in %s and critcore._schema)" % checkout)


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "critcore")


def content_key(files: Dict[str, bytes]) -> str:
    """A cache key for a set of named contents: any edit, rename or added file changes it."""
    # crc32 and adler32 over names, sizes and contents: hashlib's import alone would cost
    # more than reading the cache; any edit changes the key, so the cache cannot go stale.
    crc, adler, total = 0, 1, 0
    for name, data in files.items():
        head = b"%d:%s:%d:" % (len(name), name.encode(), len(data))
        crc = zlib.crc32(data, zlib.crc32(head, crc))
        adler = zlib.adler32(data, zlib.adler32(head, adler))
        total += len(data)
    return "v%s-%08x%08x-%x" % (CACHE_VERSION, crc, adler, total)


def _read_yaml_dir(path: str) -> Tuple[str, Dict[str, bytes]]:
    files = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".yaml"):
            with open(os.path.join(path, name), "rb") as fh:
                files[name] = fh.read()
    if "magic.yaml" not in files:
        raise SchemaError("not a schema directory (no magic.yaml)", file=path)
    return content_key(files), files


def _normalise_pretty(doc: dict) -> dict:
    # JSON object keys are strings, so number->name maps travel as pairs.
    dicts = {m: {f: [[int(k), v] for k, v in table.items()] for f, table in fields.items()}
             for m, fields in (doc.get("dicts") or {}).items()}
    return {"flags": doc.get("flags") or {}, "dicts": dicts}


def _parse_yaml_files(files: Dict[str, bytes]) -> dict:
    import yaml  # only on a cache miss: importing it costs more than reading the cache
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    bundle: dict = {"docs": [], "magic": None, "images": {}, "pretty": {"flags": {}, "dicts": {}}}
    for name, data in files.items():
        try:
            doc = yaml.load(data, Loader=loader)
        except yaml.YAMLError as e:
            raise SchemaError("cannot parse YAML: %s" % str(e).replace("\n", " "), file=name) from None
        if name == "magic.yaml":
            bundle["magic"] = doc
        elif name == "images.yaml":
            bundle["images"] = doc
        elif name == "pretty.yaml":
            bundle["pretty"] = _normalise_pretty(doc)
        elif isinstance(doc, dict) and "messages" in doc:
            bundle["docs"].append(doc)
    return bundle


def cached_json(name: str, build, use_cache: bool = True) -> dict:
    """build(), or its result stored as `name` in cache_dir() by an earlier call; `name`
    must be derived from a content key of every input, so that an entry is never stale."""
    cfile = os.path.join(cache_dir(), name)
    if use_cache:
        try:
            with open(cfile, "rb") as fh:
                return json.loads(fh.read())
        except (OSError, ValueError):
            pass
    result = build()
    if use_cache:
        try:
            import tempfile
            os.makedirs(os.path.dirname(cfile), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cfile), prefix=".schema-")
            with os.fdopen(fd, "w") as fh:
                json.dump(result, fh, separators=(",", ":"))
            os.replace(tmp, cfile)
        except OSError:
            pass  # a read-only home just means no cache
    return result


def load_bundle(path: str, use_cache: bool = True) -> dict:
    """The parsed content of a schema directory, through the JSON cache when possible."""
    digest, files = _read_yaml_dir(path)
    return cached_json("schema-%s.json" % digest, lambda: _parse_yaml_files(files), use_cache)


class Schema:
    """A resolved set of descriptors: messages, enums, magics, image kinds and pretty tables.

    >>> s = default_schema()
    >>> s.image_kind("MM").entry, s.magic_name(s.magic_value("MM"))
    ('mm_entry', 'MM')
    >>> [f.name for f in s.message("vma_entry").fields][:2]
    ['start', 'end']
    """

    def __init__(self, bundle: dict):
        self._msg_docs: Dict[str, Tuple[dict, str]] = {}
        self._enum_docs: Dict[str, list] = {}
        for doc in bundle["docs"]:
            for m in doc.get("messages") or ():
                self._msg_docs[m["name"]] = (m, doc.get("file", ""))
            for e in doc.get("enums") or ():
                self._enum_docs[e["name"]] = e["values"]
        magic = bundle["magic"] or {}
        self.magics: Dict[str, int] = {}
        self._by_value: Dict[int, str] = {}
        for name, value in magic.get("magics") or ():
            self.magics[name] = int(value)
            self._by_value.setdefault(int(value), name)
        for name, target in magic.get("aliases") or ():
            if target in self.magics:
                self.magics.setdefault(name, self.magics[target])
        images = bundle["images"] or {}
        self._images: Dict[str, dict] = dict(images.get("images") or {})
        heads = images.get("head") or {}
        self._head = {n: h for h in ("none", "service") for n in heads.get(h) or ()}
        raw = images.get("raw") or {}
        self.raw_magics = frozenset(raw.get("magics") or ())
        self.raw_names: Dict[str, str] = dict(raw.get("names") or {})
        pretty = bundle["pretty"]
        self.flags: Dict[str, Tuple[Tuple[str, int], ...]] = {
            k: tuple((n, int(v)) for n, v in tbl) for k, tbl in pretty["flags"].items()}
        self.dicts: Dict[str, Dict[str, Dict[int, str]]] = {
            m: {f: {int(k): v for k, v in pairs} for f, pairs in fields.items()}
            for m, fields in pretty["dicts"].items()}
        # Memo tables of this instance only: building a descriptor is pure, so sharing is safe.
        self._messages: Dict[str, MessageDesc] = {}
        self._enums: Dict[str, EnumDesc] = {}
        self._kinds: Dict[str, Optional[ImageKind]] = {}
        self.codecs: Dict[tuple, object] = {}
        # Unknown fields decoded with this schema so far, counted off the hot path (the codec's
        # unknown-field branch); the CLI warns when a run raised it.
        self.unknown_fields = 0

    def message(self, name: str) -> MessageDesc:
        m = self._messages.get(name)
        if m is None:
            try:
                doc, file = self._msg_docs[name]
            except KeyError:
                raise SchemaError("unknown message %r" % name) from None
            m = self._messages[name] = MessageDesc.build(doc, file)
        return m

    def has_message(self, name: str) -> bool:
        return name in self._msg_docs

    def enum(self, name: str) -> EnumDesc:
        e = self._enums.get(name)
        if e is None:
            try:
                values = self._enum_docs[name]
            except KeyError:
                raise SchemaError("unknown enum %r" % name) from None
            e = self._enums[name] = EnumDesc.build(name, values)
        return e

    def message_names(self) -> List[str]:
        return sorted(self._msg_docs)

    def magic_value(self, name: str) -> int:
        return self.magics[name]

    def magic_name(self, value: int) -> Optional[str]:
        return self._by_value.get(value)

    def image_kind(self, name: str) -> Optional[ImageKind]:
        """The kind for a magic name, or None when it carries no protobuf entries."""
        if name in self._kinds:
            return self._kinds[name]
        kind = None
        spec = self._images.get(name)
        if spec is None and name not in self.raw_magics and name in self.magics:
            conventional = name.lower() + "_entry"
            if conventional in self._msg_docs:
                spec = {"entry": conventional}
        if spec is not None and name in self.magics:
            params = {k: v for k, v in spec.items() if k not in ("entry", "layout")}
            kind = ImageKind(name, self.magics[name], self._head.get(name, "common"),
                             spec["entry"], spec.get("layout", "plain"), MappingProxyType(params))
        self._kinds[name] = kind
        return kind

    def image_kinds(self) -> List[ImageKind]:
        names = [n for n in self.magics if self.image_kind(n) is not None]
        return [self.image_kind(n) for n in names]

    def raw_hint(self, filename: str) -> Optional[str]:
        base = os.path.basename(filename)
        for prefix, what in self.raw_names.items():
            if base.startswith(prefix):
                return what
        return None


ENV_PROTO_DIR = "CRITCORE_PROTO_DIR"


def default_schema(proto_dir: Optional[str] = None) -> Schema:
    """The schema in use: the bundled one, or with `proto_dir` (by default $CRITCORE_PROTO_DIR)
    laid over it. The CLI and the API both get their schema here."""
    if proto_dir is None:
        proto_dir = os.environ.get(ENV_PROTO_DIR)
    if not proto_dir:
        return bundled_schema()
    from .overlay import overlay_schema  # only with a proto dir: it may need the parser
    return overlay_schema(proto_dir)


@functools.lru_cache(maxsize=1)
def bundled_schema() -> Schema:
    """The bundled schema alone, loaded once per process."""
    return Schema(load_bundle(bundled_schema_dir()))
