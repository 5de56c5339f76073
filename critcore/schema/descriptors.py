"""Frozen, resolved descriptor objects built from descriptor documents (YAML or parsed .proto).
They are immutable so one Schema can be shared by every decode in a process."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple


@dataclass(frozen=True)
class CriuOpts:
    """The (criu) field options of opts.proto: how crit renders a field in pretty mode."""
    hex: bool = False
    ipadd: bool = False
    flags: Optional[str] = None
    dev: bool = False
    odev: bool = False
    dict: Optional[str] = None
    conv: Optional[str] = None


NO_OPTS = CriuOpts()


@dataclass(frozen=True)
class FieldDesc:
    """One field of a message.

    >>> f = FieldDesc("start", 1, "required", "uint64", criu=CriuOpts(hex=True))
    >>> f.repeated, f.criu.hex
    (False, True)
    """
    name: str
    number: int
    label: str
    type: str
    type_name: Optional[str] = None
    packed: bool = False
    default: Any = None
    deprecated: bool = False
    oneof: Optional[str] = None
    criu: CriuOpts = NO_OPTS

    @property
    def repeated(self) -> bool:
        return self.label == "repeated"


@dataclass(frozen=True)
class EnumDesc:
    """An enum: values in declaration order plus both lookups.

    >>> e = EnumDesc.build("march", [["X86_64", 1]])
    >>> e.by_number[1], e.by_name["X86_64"]
    ('X86_64', 1)
    """
    name: str
    values: Tuple[Tuple[str, int], ...]
    by_number: Mapping[int, str] = field(compare=False, repr=False)
    by_name: Mapping[str, int] = field(compare=False, repr=False)

    @classmethod
    def build(cls, name: str, values) -> "EnumDesc":
        vals = tuple((n, int(v)) for n, v in values)
        by_number: dict = {}
        for n, v in vals:
            by_number.setdefault(v, n)  # with aliases the first name wins, as in protobuf
        return cls(name, vals, MappingProxyType(by_number), MappingProxyType(dict(vals)))


@dataclass(frozen=True)
class MessageDesc:
    """A message: fields sorted by number (the order protobuf writes and crit prints them)."""
    name: str
    fields: Tuple[FieldDesc, ...]
    file: str = ""

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
