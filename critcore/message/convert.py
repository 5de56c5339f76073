"""Field-level conversions between wire values and crit's JSON forms: base64 and quoted-printable
bytes, hex strings, flag expressions, "major:minor" devices, dict names and IP addresses."""
from __future__ import annotations

import base64
import binascii
import re
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Sequence, Tuple

from ..errors import EncodeError

KERN_MINORBITS = 20  # the kernel's new dev_t layout: major << 20 | minor


def b64_encode(raw: bytes) -> str:
    """Example:

    >>> b64_encode(b"hi")
    'aGk=\\n'
    """
    return base64.encodebytes(raw).decode("ascii")


_B64_OK = re.compile(r"^[A-Za-z0-9+/\n]*={0,2}\n?$")


def b64_decode(v) -> bytes:
    if not isinstance(v, str):
        raise EncodeError("expected a base64 string, got %s" % type(v).__name__)
    if not _B64_OK.match(v):
        raise EncodeError("invalid base64 data")
    try:
        return base64.b64decode(v.replace("\n", ""), validate=True)
    except binascii.Error as e:
        raise EncodeError("invalid base64 data (%s)" % e) from None


def qp_encode(raw: bytes) -> str:
    # crit renders unix socket names quoted-printable (conv = "unix_name").
    import quopri
    return quopri.encodestring(raw).decode("ascii")


def qp_decode(v) -> bytes:
    if not isinstance(v, str):
        raise EncodeError("expected a quoted-printable string, got %s" % type(v).__name__)
    import quopri
    try:
        return quopri.decodestring(v.encode("ascii"))
    except (UnicodeEncodeError, ValueError):
        raise EncodeError("invalid quoted-printable data") from None


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


def flags_parse(text: str, table: Sequence[Tuple[str, int]], table_name: str) -> int:
    if text.strip() == "":
        return 0
    known = dict(table)
    total = 0
    for part in text.split("|"):
        part = part.strip()
        if part in known:
            total |= known[part]
            continue
        try:
            total |= int(part, 0)
        except ValueError:
            raise EncodeError("%r is not a known %s flag" % (part, table_name)) from None
    return total


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


def dev_parse(text: str, old: bool) -> int:
    parts = text.split(":")
    try:
        major, minor = (int(p) for p in parts)
    except ValueError:
        raise EncodeError("%r is not a major:minor device" % text) from None
    if major < 0 or minor < 0:
        raise EncodeError("%r is not a major:minor device" % text)
    if old:
        return ((major & 0xFFF) << 8) | ((major & ~0xFFF) << 32) | (minor & 0xFF) | ((minor & ~0xFF) << 12)
    if minor >= 1 << KERN_MINORBITS:
        raise EncodeError("minor %d does not fit in %d bits" % (minor, KERN_MINORBITS))
    return (major << KERN_MINORBITS) | minor


def ip_str(words: List[int]) -> List[str]:
    """Crit's pretty IP: 1 word is IPv4, otherwise the first 4 words are IPv6 (network order).

    >>> ip_str([0x0100007f])
    ['127.0.0.1']
    """
    import ipaddress
    import socket
    if len(words) == 1:
        return [ipaddress.IPv4Address(socket.ntohl(words[0])).compressed]
    if len(words) != 4:
        raise ValueError("an address has 1 or 4 words, not %d" % len(words))
    v = 0
    for w in words:
        v = (v << 32) | socket.ntohl(w)
    return [ipaddress.IPv6Address(v).compressed]


def ip_parse(values: list) -> List[int]:
    import ipaddress
    import socket
    if len(values) != 1:
        raise EncodeError("an address in text form is a list of one string, got %d items" % len(values))
    try:
        addr = ipaddress.ip_address(values[0])
    except ValueError:
        raise EncodeError("%r is not an IPv4 or IPv6 address" % (values[0],)) from None
    if addr.version == 4:
        return [socket.htonl(int(addr))]
    iv = int(addr)
    return [socket.htonl((iv >> (32 * k)) & 0xFFFFFFFF) for k in (3, 2, 1, 0)]
