"""JSON Schema patterns for the string forms of critcore.message.forms, narrowed to each field's
range: integer strings within [lo, hi] digit by digit, flag expressions, devices, dict names."""
from __future__ import annotations

import re
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, List, Sequence, Tuple

from ..message import forms

_DIGITS = "0123456789abcdef"


def _class(lo: int, hi: int, base: int) -> str:
    """A character class for digit values lo..hi (hex letters in both cases)."""
    if lo == hi and lo < 10:
        return _DIGITS[lo]
    parts = []
    if lo <= min(hi, 9):
        a, b = _DIGITS[lo], _DIGITS[min(hi, 9)]
        parts.append(a if a == b else "%s-%s" % (a, b))
    if base == 16 and hi >= 10:
        a, b = _DIGITS[max(lo, 10)], _DIGITS[hi]
        parts.append(a if a == b else "%s-%s" % (a, b))
        parts.append(a.upper() if a == b else "%s-%s" % (a.upper(), b.upper()))
    return "[%s]" % "".join(parts)


def digits_at_most(n: int, base: int) -> str:
    """A pattern for digit strings (leading zeros allowed) whose value is at most n >= 0.

    >>> p = re.compile("(?:%s)$" % digits_at_most(255, 10))
    >>> [bool(p.match(s)) for s in ("0", "007", "199", "255", "256", "1000")]
    [True, True, True, True, False, False]
    """
    any_digit = _class(0, base - 1, base)
    ds = []
    while n:
        ds.append(n % base)
        n //= base
    ds.reverse()
    k = len(ds)
    alts = []
    if k > 1:  # fewer digits than n, without leading zeros
        alts.append(_class(1, base - 1, base) + (any_digit + "{0,%d}" % (k - 2) if k > 2 else ""))
    for i in range(k):
        low = 1 if i == 0 else 0
        if ds[i] - 1 >= low:
            rest = k - i - 1
            alts.append(_prefix(ds[:i], base) + _class(low, ds[i] - 1, base)
                        + (any_digit + ("{%d}" % rest if rest > 1 else "") if rest else ""))
    if k:
        alts.append(_prefix(ds, base))
    alts.append("0")
    return "0*(?:%s)" % "|".join(alts)


def _prefix(ds: Sequence[int], base: int) -> str:
    return "".join(_class(d, d, base) for d in ds)


def int_alternatives(lo: int, hi: int) -> List[str]:
    """The integer-string forms (forms.UNSIGNED_INT / SIGNED_INT) with a value in [lo, hi]."""
    alts = []
    if hi >= 0:
        alts += [digits_at_most(hi, 10), "0[xX]" + digits_at_most(hi, 16)]
    if lo < 0:  # signed types: "-12", "-0x1f" and crit's "0x-1f"
        neg10, neg16 = digits_at_most(-lo, 10), digits_at_most(-lo, 16)
        alts += ["-" + neg10, "-0[xX]" + neg16, "0[xX]-" + neg16]
    return alts


def anchored(alternatives: Iterable[str]) -> str:
    # JSON Schema patterns are ECMA-262: "$" is the end of the string (the validator reads
    # a final "$" that way in Python too, where it would also match before a last "\n").
    return "^(?:%s)$" % "|".join(alternatives)


def int_pattern(lo: int, hi: int) -> str:
    """Anchored pattern of the integer strings of a field of range [lo, hi].

    >>> p = re.compile(int_pattern(0, 255))
    >>> [bool(p.match(s)) for s in ("0xff", "0X0100", "255", "-1", "0x-1")]
    [True, False, True, False, False]
    """
    return anchored(int_alternatives(lo, hi))


def names_pattern(names: Iterable[str], lo: int = 0, hi: int = -1) -> str:
    """Anchored pattern of a set of names, plus integer strings in [lo, hi] when hi >= lo."""
    alts = [re.escape(n) for n in names]
    if hi >= lo:
        alts += int_alternatives(lo, hi)
    return anchored(alts)


def flags_pattern(table: Sequence[Tuple[str, int]], hi: int) -> str:
    """Anchored pattern of flag expressions over `table` (see forms.flags_parser).

    >>> p = re.compile(flags_pattern([("PROT_READ", 1), ("PROT_WRITE", 2)], 0xFFFFFFFF))
    >>> [bool(p.match(s)) for s in ("", "PROT_READ | PROT_WRITE", "PROT_READ|0x10", "PROT_X", "A |")]
    [True, True, True, False, False]
    """
    item = "(?:%s)" % "|".join([re.escape(n) for n, _ in table] + int_alternatives(0, hi))
    return "^ *(?:%s(?:%s%s)*)? *$" % (item, forms.FLAG_SEP, item)


def dev_pattern(old: bool, hi: int) -> str:
    """Anchored pattern of "major:minor" strings a dev field of maximum `hi` can hold."""
    major, minor = forms.dev_limits(old, hi)
    return "^%s:%s$" % (digits_at_most(major, 10), digits_at_most(minor, 10))


def whole(pattern: str) -> str:
    """Anchor a forms.* grammar pattern."""
    return "^(?:%s)$" % pattern
