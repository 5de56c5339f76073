"""The text forms encode accepts for non-string fields, as regular expressions and parsers:
one grammar shared by the encoder's own checks and the generated JSON Schema (critcore.validate)."""
from __future__ import annotations

import re
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional, Sequence, Tuple

from ..errors import EncodeError

# Integer strings: hex as pretty output writes it ("0x1f", and crit's "0x-5" for a negative
# hex field) or decimal. Unsigned fields take no sign at all. The JSON Schema narrows these
# to each type's range with digit-wise patterns; the encoder checks the range numerically.
UNSIGNED_INT = r"0[xX][0-9a-fA-F]+|[0-9]+"
SIGNED_INT = r"-?0[xX][0-9a-fA-F]+|0[xX]-[0-9a-fA-F]+|-?[0-9]+"
# A flag expression: names of the field's flag table or unsigned literals, joined by "|";
# spaces around items are allowed, and the empty string (what decode writes for 0) is 0.
FLAG_SEP = r" *\| *"
# "major:minor", decimal (how pretty output shows dev fields).
DEV = r"([0-9]+):([0-9]+)"
IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = r"%s(?:\.%s){3}" % (IPV4_OCTET, IPV4_OCTET)
# Base64 as base64.encodebytes writes it, newlines allowed anywhere, padding exact.
_B64C = r"[A-Za-z0-9+/]\n*"
BASE64 = r"\n*(?:%s)*(?:%s=\n*=\n*|%s=\n*)?" % (_B64C * 4, _B64C * 2, _B64C * 3)
# A string field: any text except lone surrogates other than the \udc80-\udcff that stand for
# undecodable bytes (what decode writes for invalid UTF-8); other ones have no bytes.
TEXT = r"[^\ud800-\udc7f\udd00-\udfff]*"
# Quoted-printable (unix socket names): ASCII only.
ASCII = r"[\x00-\x7f]*"

_B64_CANON = r"[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
# Patterns are compiled where a codec is built (re caches them), not at import: decode never
# needs them, and compiling costs more than a small decode.

DEV_MINORBITS = 20  # the kernel's dev_t: major << 20 | minor


def ipv6_pattern() -> str:
    """RFC 4291 text forms: eight groups, "::" standing for one or more zero groups, and an
    optional dotted IPv4 tail (two groups). No zone index: it has no place in an image."""
    h = "[0-9a-fA-F]{1,4}"
    alts = []
    for groups, tail in ((8, ""), (6, IPV4)):
        last = tail or h
        n = groups if not tail else groups + 1  # items when the tail counts as one
        alts.append(r"(?:%s:){%d}%s" % (h, n - 1, last))
        # "::" with k groups on the left and at most n-1-k (tail included) on the right.
        for k in range(n):
            left = "" if k == 0 else r"%s(?::%s){%d}" % (h, h, k - 1)
            room = n - 1 - k
            if tail:
                right = "" if room < 1 else r"(?:%s:){0,%d}%s" % (h, room - 1, tail)
                if right:
                    alts.append(left + "::" + right)
            else:
                right = "" if room < 1 else r"(?:%s(?::%s){0,%d})?" % (h, h, room - 1)
                alts.append(left + "::" + right)
    return "(?:%s)" % "|".join(alts)


IPV6 = ipv6_pattern()


def int_parser(signed: bool, what: str = "number") -> Callable[[str], int]:
    """Parser of integer strings in the grammar above; the caller checks the range.

    >>> p = int_parser(True)
    >>> p("0x1f"), p("-0x2"), p("0x-2"), p("12")
    (31, -2, -2, 12)
    """
    match = re.compile(SIGNED_INT if signed else UNSIGNED_INT).fullmatch

    def parse(s: str) -> int:
        if match(s) is None:
            raise EncodeError("%r is not a valid %s" % (s, what))
        if s[:3] in ("0x-", "0X-"):
            return -int(s[3:], 16)
        if "x" in s or "X" in s:
            return int(s, 16)
        return int(s, 10)
    return parse


def flags_parser(table: Sequence[Tuple[str, int]], table_name: str, hi: int) -> Callable[[str], int]:
    """Parser of flag expressions: "" is 0, items are names of `table` or literals up to `hi`.

    >>> flags_parser([("PROT_READ", 1)], "mmap.prot", 0xFFFFFFFF)("PROT_READ | 0x10")
    17
    """
    known = dict(table)
    literal = re.compile(UNSIGNED_INT).fullmatch

    def parse(s: str) -> int:
        if s.strip(" ") == "":
            return 0
        total = 0
        for part in s.split("|"):
            part = part.strip(" ")
            v = known.get(part)
            if v is None:
                if literal(part) is None:
                    raise EncodeError("%r is not a known %s flag" % (part, table_name))
                v = int(part, 16) if "x" in part or "X" in part else int(part, 10)
                if v > hi:
                    raise EncodeError("flag value %s is out of range (at most %#x)" % (part, hi))
            total |= v
        return total
    return parse


def dev_limits(old: bool, hi: int) -> Tuple[int, int]:
    """The largest major and minor a dev field of maximum `hi` can hold without losing bits.

    >>> dev_limits(False, 0xFFFFFFFF), dev_limits(True, 0xFFFFFFFF)
    ((4095, 1048575), (4095, 1048575))
    """
    if old:  # glibc's makedev: 12+20 bits in the low word, the rest in the high word
        return (0xFFF, 0xFFFFF) if hi < 1 << 44 else (0xFFFFFFFF, 0xFFFFFFFF)
    return hi >> DEV_MINORBITS, (1 << DEV_MINORBITS) - 1


def parse_dev(s: str, old: bool, hi: int) -> int:
    """ "major:minor" -> the dev_t number (old: glibc's layout, else the kernel's)."""
    m = re.fullmatch(DEV, s)
    if m is None:
        raise EncodeError("%r is not a major:minor device" % (s,))
    major, minor = int(m.group(1)), int(m.group(2))
    max_major, max_minor = dev_limits(old, hi)
    if major > max_major or minor > max_minor:
        raise EncodeError("%r: major must be at most %d and minor at most %d"
                          % (s, max_major, max_minor))
    if old:
        return ((major & 0xFFF) << 8) | ((major & ~0xFFF) << 32) | (minor & 0xFF) | ((minor & ~0xFF) << 12)
    return (major << DEV_MINORBITS) | minor


def parse_ip(s) -> Optional[int]:
    """An IPv4 or IPv6 string as an int (None: not one)."""
    import ipaddress
    if not isinstance(s, str) or not (re.fullmatch(IPV4, s) or re.fullmatch(IPV6, s)):
        return None
    return int(ipaddress.ip_address(s))


def check_base64(v: str) -> str:
    """`v` without its newlines, if it is exact base64 (padding included); else EncodeError."""
    s = v.replace("\n", "") if "\n" in v else v
    if len(s) % 4 or re.fullmatch(_B64_CANON, s) is None:
        raise EncodeError("invalid base64 data")
    return s


def check_text(v: str) -> bytes:
    """A string field's bytes: surrogates \\udc80-\\udcff are the undecodable bytes decode kept."""
    try:
        return v.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as e:
        raise EncodeError("a lone surrogate %r at index %d is not text" % (v[e.start], e.start)) from None


def as_int(v) -> Optional[int]:
    """A JSON integer: an int, or a float with no fraction (JSON Schema's "integer"); not a bool.

    >>> as_int(3), as_int(3.0), as_int(3.5), as_int(True)
    (3, 3, None, None)
    """
    t = type(v)
    if t is int:
        return v
    if t is float and v.is_integer():
        return int(v)
    return None
