"""Field-level conversions between wire values and crit's JSON forms: base64 and quoted-printable
bytes, hex strings, flag expressions, "major:minor" devices, dict names and IP addresses."""
from __future__ import annotations

import base64
import binascii
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Sequence, Tuple

from ..errors import EncodeError
from . import forms

KERN_MINORBITS = 20  # the kernel's new dev_t layout: major << 20 | minor


def b64_encode(raw: bytes) -> str:
    """Example:

    >>> b64_encode(b"hi")
    'aGk=\\n'
    """
    return base64.encodebytes(raw).decode("ascii")


def b64_decode(v) -> bytes:
    """Exact base64 (forms.BASE64: newlines anywhere, correct padding) -> bytes."""
    if type(v) is not str:
        raise EncodeError("expected a base64 string, got %s" % json_type(v))
    return binascii.a2b_base64(forms.check_base64(v))


def qp_encode(raw: bytes) -> str:
    # crit renders unix socket names quoted-printable (conv = "unix_name").
    import quopri
    return quopri.encodestring(raw).decode("ascii")


def qp_decode(v) -> bytes:
    if type(v) is not str:
        raise EncodeError("expected a quoted-printable string, got %s" % json_type(v))
    if not v.isascii():
        raise EncodeError("quoted-printable data is ASCII only")
    import quopri
    return quopri.decodestring(v.encode("ascii"))


def json_type(v) -> str:
    """How error messages name a JSON value's type: "an object", "a string", ..."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


BYTES_CONV: Dict[object, Tuple[Callable, Callable]] = {
    None: (b64_encode, b64_decode),
    "unix_name": (qp_encode, qp_decode),
}


def flags_str(value: int, table: Sequence[Tuple[str, int]]) -> str:
    """Crit's rendering of a flags field: known names, then the rest in hex.

    >>> flags_str(0x23, [("MAP_SHARED", 1), ("MAP_ANON", 0x20)])
    'MAP_SHARED | MAP_ANON | 0x2'
    """
    names = [n for n, bit in table if value & bit]
    rest = value & ~sum(bit for _, bit in table)
    if rest:
        names.append("%#x" % rest)
    return " | ".join(names)


def dev_str(value: int, old: bool) -> str:
    """Example:

    >>> dev_str((8 << 20) | 1, False), dev_str(0x801, True)
    ('8:1', '8:1')
    """
    if old:  # glibc's dev_t, as os.major()/os.minor() read it
        major = ((value >> 8) & 0xFFF) | ((value >> 32) & ~0xFFF)
        minor = (value & 0xFF) | ((value >> 12) & ~0xFF)
        return "%d:%d" % (major, minor)
    return "%d:%d" % (value >> KERN_MINORBITS, value & ((1 << KERN_MINORBITS) - 1))


def ip_str(words: List[int]) -> List[str]:
    """Crit's pretty IP: 1 word is IPv4, otherwise the first 4 words are IPv6 (network order).

    >>> ip_str([0x0100007f])
    ['127.0.0.1']
    """
    import ipaddress
    import socket
    if any(not 0 <= w <= 0xFFFFFFFF for w in words):  # a corrupt uint32 can hold more
        raise ValueError("an address word is a 32-bit number")
    if len(words) == 1:
        return [ipaddress.IPv4Address(socket.ntohl(words[0])).compressed]
    if len(words) != 4:
        raise ValueError("an address has 1 or 4 words, not %d" % len(words))
    v = 0
    for w in words:
        v = (v << 32) | socket.ntohl(w)
    return [ipaddress.IPv6Address(v).compressed]


def ip_parse(values: list) -> List[int]:
    """Crit's text form of an address field, a list of one IPv4/IPv6 string -> its words.

    >>> ip_parse(["127.0.0.1"]) == ip_parse(["::ffff:127.0.0.1"])[3:]
    True
    """
    import socket
    if len(values) != 1:
        raise EncodeError("an address in text form is a list of one string, got %d items"
                          % len(values))
    v = forms.parse_ip(values[0])
    if v is None:
        raise EncodeError("%r is not an IPv4 or IPv6 address" % (values[0],), path="[0]")
    if ":" not in values[0]:
        return [socket.htonl(v)]
    return [socket.htonl((v >> (32 * k)) & 0xFFFFFFFF) for k in (3, 2, 1, 0)]
