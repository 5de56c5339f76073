"""Views decide how a decoded field is shown: PLAIN (crit decode) or PRETTY (crit show / --pretty).
Encoding always accepts both forms, as crit does; LENIENT is PLAIN for encode --no-validate."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional

from . import convert, forms


class View:
    """How ints and bytes are rendered; compiled into each MessageCodec once. `strict` is
    False only for encode --no-validate: required fields may then be missing.

    >>> PRETTY.pretty, LENIENT.strict
    (True, False)
    """

    def __init__(self, name: str, pretty: bool, strict: bool = True):
        self.name = name
        self.pretty = pretty
        self.strict = strict

    def __repr__(self) -> str:
        return "View(%r)" % self.name

    @staticmethod
    def bytes_decoder(f) -> Callable:
        return convert.BYTES_CONV.get(f.criu.conv, convert.BYTES_CONV[None])[0]

    @staticmethod
    def bytes_encoder(f) -> Callable:
        return convert.BYTES_CONV.get(f.criu.conv, convert.BYTES_CONV[None])[1]

    @staticmethod
    def int_decoder(schema, f, base: Optional[Callable], hexed: bool) -> Optional[Callable]:
        """Pretty rendering of an integer field, in crit's order: hex, dev, flags, dict."""
        if f.type == "enum" or f.type == "bool" or f.type in ("float", "double"):
            return base
        o = f.criu
        if hexed:
            # hex() is a builtin call, no Python frame; it matches "0x%x" for v >= 0 only
            # (crit prints "0x-5" for negatives), and only unsigned types start from raw values.
            render = hex if base is None else (lambda v: "0x%x" % v)  # noqa: E731
        elif o.dev or o.odev:
            render = lambda v: convert.dev_str(v, o.odev)  # noqa: E731
        elif o.flags:
            table = schema.flags.get(o.flags)
            if table is None:  # unknown table: crit shows hex
                render = lambda v: "0x%x" % v  # noqa: E731
            else:
                render = _memo(lambda v: convert.flags_str(v, table))
        elif o.dict and f.name in schema.dicts.get(o.dict, {}):
            names = schema.dicts[o.dict][f.name]
            render = lambda v: names.get(v, v)  # noqa: E731
        else:
            return base
        if base is None:
            return render
        return lambda v: render(base(v))

    @staticmethod
    def ip_decoder() -> Callable:
        def to_text(words, name):
            try:
                return convert.ip_str(words)
            except ValueError:
                return words  # not an address crit could show; keep the numbers
        return to_text

    @staticmethod
    def int_parser(schema, f, lo: int, hi: int) -> Callable[[str], int]:
        """Parse a string given for an integer field of range [lo, hi]: the forms of
        critcore.message.forms (crit accepts these in plain JSON too)."""
        o = f.criu
        if o.dev or o.odev:
            return _memo(lambda s: forms.parse_dev(s, o.odev, hi))
        if o.flags and o.flags in schema.flags:
            return _memo(forms.flags_parser(schema.flags[o.flags], o.flags, hi))
        names = schema.dicts.get(o.dict, {}).get(f.name) if o.dict else None
        number = forms.int_parser(lo < 0, "%s name or number" % o.dict if names else "number")
        if not names:
            return number
        rmap = {v: k for k, v in names.items()}

        def parse(s: str) -> int:
            v = rmap.get(s)
            return number(s) if v is None else v
        return parse


def _memo(fn: Callable) -> Callable:
    """Cache a pure conversion of a low-cardinality field (flags, devices): the same flag
    words repeat across thousands of VMAs, in both directions."""
    seen: dict = {}

    def render(v):
        r = seen.get(v)
        if r is None:
            r = seen[v] = fn(v)
        return r
    return render


PLAIN = View("plain", False)
LENIENT = View("lenient", False, strict=False)
PRETTY = View("pretty", True)
