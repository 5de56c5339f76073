"""Renders decoded images as JSON text exactly as crit's json.dump does.
Compact output is one C-accelerated json.dumps; indented output has its own writer because
json.dumps(indent=4) always runs the pure-Python encoder, at several times the compact cost."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

import json
from itertools import chain
from json.encoder import encode_basestring_ascii as _str

try:  # the C accelerator json.dumps itself uses; absent on some Pythons
    from json.encoder import c_make_encoder as _c_encoder
except ImportError:  # pragma: no cover
    _c_encoder = None

_INDENT = "    "
_FLOAT = float.__repr__


def _float(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return _FLOAT(v)


# Exact types only: bool is an int subclass but prints as true/false.
_SCALAR = {
    str: _str,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    float: _float,
    type(None): lambda v: "null",
}


_SCALAR_TYPES = frozenset(_SCALAR)
_DICT = {dict}


def _no_default(o):
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _indented(obj, level: int, keys: dict) -> str:
    """json.dumps(obj, indent=4) for dicts, lists and the scalars above.
    `keys` memoises the indented key prefixes: the same few keys repeat in every entry."""
    enc = _SCALAR.get(type(obj))
    if enc is not None:
        return enc(obj)
    inner = "\n" + _INDENT * (level + 1)
    close = "\n" + _INDENT * level
    scalar = _SCALAR
    if type(obj) is dict:
        if not obj:
            return "{}"
        if _c_encoder is not None:
            for v in obj.values():
                if type(v) not in scalar:
                    break
            else:
                # All values scalar: the C encoder with the indent folded into the item
                # separator writes the indented form, minus the newlines around the braces.
                leaf = _leaf_encoder(level, keys)
                return "{" + inner + "".join(leaf(obj, 0))[1:-1] + close + "}"
        prefixes = keys.get(level)
        if prefixes is None:
            prefixes = keys[level] = {}
        parts = []
        for k, v in obj.items():
            key = prefixes.get(k)
            if key is None:
                # json turns int/float/bool/None keys into strings; nothing else is allowed.
                text = _str(k) if type(k) is str else json.dumps({k: None})[1:-7]
                key = prefixes[k] = inner + text + ": "
            enc = scalar.get(type(v))
            parts.append(key + enc(v) if enc is not None else key + _indented(v, level + 1, keys))
        return "{" + ",".join(parts) + close + "}"
    if type(obj) is list:
        if not obj:
            return "[]"
        if _c_encoder is not None and len(obj) > 1 and type(obj[0]) is dict:
            text = _leaf_dicts(obj, level, keys)
            if text is not None:
                return text
        parts = []
        for v in obj:
            enc = scalar.get(type(v))
            parts.append(inner + enc(v) if enc is not None else inner + _indented(v, level + 1, keys))
        return "[" + ",".join(parts) + close + "]"
    # Anything unusual (subclasses, tuples): let the standard encoder decide, with its errors.
    text = json.dumps(obj, indent=4)
    return text.replace("\n", "\n" + _INDENT * level)


def _leaf_encoder(level: int, keys: dict):
    """The C encoder whose item separator carries the indent of a dict's items at `level`
    (memoised in `keys`): it writes a scalar dict indented, less its brace newlines."""
    enc = keys.get(("leaf", level))
    if enc is None:
        enc = keys[("leaf", level)] = _c_encoder(
            None, _no_default, _str, None, ": ", ",\n" + _INDENT * (level + 1), False, False, True)
    return enc


def _leaf_dicts(items: list, level: int, keys: dict) -> Optional[str]:
    """The indented form of a list of non-empty dicts with scalar values (pagemap entries,
    VMAs), or None for any other list. One C-encoder pass writes it with every separator
    indented for the dicts' items; one replace then mends the separators between the dicts.
    That replace cannot touch a value: a raw newline is only ever a separator (strings are
    ASCII-escaped), and no scalar ends with '}', so '},<newline>' ends a dict."""
    if set(map(type, items)) != _DICT or not min(map(len, items)):
        return None
    if not _SCALAR_TYPES.issuperset(map(type, chain.from_iterable(map(dict.values, items)))):
        return None
    inner = "\n" + _INDENT * (level + 1)
    item = "\n" + _INDENT * (level + 2)
    body = "".join(_leaf_encoder(level + 1, keys)(items, 0))[2:-2]  # without the outer "[{" and "}]"
    body = body.replace("}," + item + "{", inner + "}," + inner + "{" + item)
    return "[" + inner + "{" + item + body + inner + "}\n" + _INDENT * level + "]"


def render(obj, pretty: bool) -> str:
    """crit's layout: ", " and ": " separators, 4-space indent when pretty.

    >>> render({"magic": "MM", "entries": []}, False)
    '{"magic": "MM", "entries": []}'
    >>> print(render({"a": [1, {"b": "x"}], "c": {}}, True))
    {
        "a": [
            1,
            {
                "b": "x"
            }
        ],
        "c": {}
    }
    """
    if pretty:
        return _indented(obj, 0, {})
    return json.dumps(obj)
