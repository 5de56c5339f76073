"""Frozen, resolved descriptor objects built from descriptor documents (YAML or parsed .proto).
They are immutable so one Schema can be shared by every decode in a process."""
from __future__ import annotations

from types import MappingProxyType

# No typing or dataclasses here: importing them costs more start-up than a whole
# inventory decode, and these classes are on every run's path.


class Frozen:
    """Immutable record: fields listed in __slots__, set once by __init__, compared by value.

    >>> class P(Frozen):
    ...     __slots__ = ("x",)
    >>> p = P(x=1)
    >>> p == P(x=1), p
    (True, P(x=1))
    """

    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, *args, **kw):
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError("%s takes at most %d arguments" % (type(self).__name__, len(names)))
        values = dict(self._defaults)
        values.update(zip(names, args))
        values.update(kw)
        for name in names:
            if name not in values:
                raise TypeError("%s needs %r" % (type(self).__name__, name))
            object.__setattr__(self, name, values.pop(name))
        if values:
            raise TypeError("%s has no field %r" % (type(self).__name__, next(iter(values))))

    def __setattr__(self, name, value):
        raise AttributeError("%s is immutable" % type(self).__name__)

    def __delattr__(self, name):
        raise AttributeError("%s is immutable" % type(self).__name__)

    def _key(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__ if n not in self._not_compared)

    _not_compared: "tuple" = ()

    def __eq__(self, other):
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self):
        return hash((type(self).__name__,) + tuple(
            v for v in self._key() if not isinstance(v, (dict, MappingProxyType))))

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (n, getattr(self, n)) for n in self.__slots__ if n not in self._not_compared))


class CriuOpts(Frozen):
    """The (criu) field options of opts.proto: how crit renders a field in pretty mode."""
    __slots__ = ("hex", "ipadd", "flags", "dev", "odev", "dict", "conv")
    _defaults = {"hex": False, "ipadd": False, "flags": None, "dev": False, "odev": False,
                 "dict": None, "conv": None}


NO_OPTS = CriuOpts()


class FieldDesc(Frozen):
    """One field of a message.

    >>> f = FieldDesc("start", 1, "required", "uint64", criu=CriuOpts(hex=True))
    >>> f.repeated, f.criu.hex
    (False, True)
    """
    __slots__ = ("name", "number", "label", "type", "type_name", "packed", "default",
                 "deprecated", "oneof", "criu")
    _defaults = {"type_name": None, "packed": False, "default": None, "deprecated": False,
                 "oneof": None, "criu": NO_OPTS}

    @property
    def repeated(self) -> bool:
        return self.label == "repeated"


class EnumDesc(Frozen):
    """An enum: values in declaration order plus both lookups.

    >>> e = EnumDesc.build("march", [["X86_64", 1]])
    >>> e.by_number[1], e.by_name["X86_64"]
    ('X86_64', 1)
    """
    __slots__ = ("name", "values", "by_number", "by_name")
    _not_compared = ("by_number", "by_name")

    @classmethod
    def build(cls, name: str, values) -> "EnumDesc":
        vals = tuple((n, int(v)) for n, v in values)
        by_number: dict = {}
        for n, v in vals:
            by_number.setdefault(v, n)  # with aliases the first name wins, as in protobuf
        return cls(name, vals, MappingProxyType(by_number), MappingProxyType(dict(vals)))


class MessageDesc(Frozen):
    """A message: fields sorted by number (the order protobuf writes and crit prints them)."""
    __slots__ = ("name", "fields", "file")
    _defaults = {"file": ""}

    @classmethod
    def build(cls, doc: dict, file: str = "") -> "MessageDesc":
        fields = []
        for f in doc["fields"]:
            criu = CriuOpts(**f["criu"]) if f.get("criu") else NO_OPTS
            fields.append(FieldDesc(
                f["name"], int(f["number"]), f["label"], f["type"], f.get("type_name"),
                bool(f.get("packed", False)), f.get("default"), bool(f.get("deprecated", False)),
                f.get("oneof"), criu))
        fields.sort(key=lambda x: x.number)
        return cls(doc["name"], tuple(fields), file)

    def field(self, name: str) -> FieldDesc:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
