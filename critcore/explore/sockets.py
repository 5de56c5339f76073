"""`x sk`: every socket of a checkpoint (INET/INET6, UNIX, NETLINK, PACKET) as one SkRow each.
Names come from the schema's sk tables (schema/pretty.yaml), so this module keeps no name maps."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; annotations are strings anyway
    from typing import Dict, List, Optional

from ..message.convert import ip_str, qp_decode
from ..schema import default_schema
from .checkpoint import Checkpoint
from .model import SkOwner, SkRow

# Address families (linux/socket.h): the keys of the schema's sk.family table. The entries
# of unix, netlink and packet sockets carry no family field; their file type implies it.
AF_UNIX, AF_NETLINK, AF_PACKET = 1, 16, 17
IPPROTO_TCP = 6


class SkNames:
    """Number -> name through the schema's `sk` tables; a number missing from a table is
    shown as itself, so a newer kernel's value is still visible rather than lost.

    >>> names = SkNames()
    >>> names("family", 10), names("state", 10), names("proto", 6), names("state", 99)
    ('INET6', 'LISTEN', 'TCP', '99')
    >>> names("type", None) is None
    True
    """

    def __init__(self, schema=None):
        self.tables: Dict[str, Dict[int, str]] = (schema or default_schema()).dicts["sk"]

    def __call__(self, table: str, value: Optional[int]) -> Optional[str]:
        if value is None:
            return None
        return self.tables[table].get(value, str(value))


def unix_name(value) -> str:
    """A unix_sk_entry name as `ss` shows it: a path without its trailing NULs, "@name" for
    an abstract name (leading NUL), "" for an unnamed socket.

    >>> unix_name("/tmp/sock=00"), unix_name("=00abstract"), unix_name("")
    ('/tmp/sock', '@abstract', '')
    """
    raw = qp_decode(value) if isinstance(value, str) else bytes(value or b"")
    if raw.startswith(b"\0"):
        text = "@" + raw[1:].decode("utf-8", "backslashreplace")
    else:
        text = raw.rstrip(b"\0").decode("utf-8", "backslashreplace")
    return text


def _ip(words: List[int]) -> Optional[str]:
    if not words:
        return None
    try:
        return ip_str(words)[0]
    except ValueError:  # neither 1 nor 4 words: show the words rather than fail the row
        return "?" + ",".join("%08x" % w for w in words)


def _owners(cp: Checkpoint) -> Dict[int, List[SkOwner]]:
    """file id -> the (pid, fd) pairs that hold it, in pstree then fd order."""
    held: Dict[int, List[SkOwner]] = {}
    for pid in cp.live_pids():
        for fd in cp.fdinfo(cp.ids(pid)["files_id"]):
            held.setdefault(fd["id"], []).append(SkOwner(pid, fd["fd"]))
    return held


def _unix_queues(cp: Checkpoint) -> Dict[int, int]:
    """Bytes queued for each unix socket (by file id), from sk-queues.img."""
    queued: Dict[int, int] = {}
    for pkt in cp.sk_queues():
        queued[pkt["id_for"]] = queued.get(pkt["id_for"], 0) + pkt.get("length", 0)
    return queued


def _inet(cp: Checkpoint, names: SkNames, e: dict) -> SkRow:
    row = SkRow(e["id"], e.get("ino"), names("family", e.get("family")),
                names("type", e.get("type")), names("proto", e.get("proto")),
                names("state", e.get("state")),
                src_addr=_ip(e.get("src_addr")), src_port=e.get("src_port"),
                dst_addr=_ip(e.get("dst_addr")), dst_port=e.get("dst_port"),
                backlog=e.get("backlog"))
    if e.get("proto") == IPPROTO_TCP and row.ino is not None:
        # CRIU writes tcp-stream-<ino in hex>.img for connected TCP sockets only.
        ts = cp.tcp_stream(row.ino)
        if ts is not None:
            row.recv_q, row.send_q = ts.get("inq_len"), ts.get("outq_len")
    return row


def _unix(names: SkNames, e: dict, queued: Dict[int, int]) -> SkRow:
    return SkRow(e["id"], e.get("ino"), names("family", AF_UNIX), names("type", e.get("type")),
                 None, names("state", e.get("state")), name=unix_name(e.get("name")),
                 peer=e.get("peer"), deleted=bool(e.get("deleted")), backlog=e.get("backlog"),
                 recv_q=queued.get(e["id"], 0))


def _netlink(names: SkNames, e: dict) -> SkRow:
    # netlink_sk_entry has no socket type; its state is the kernel's sk_state: 1 connected,
    # 7 (TCP_CLOSE) never connected, 0 when CRIU found the socket unbound.
    return SkRow(e["id"], e.get("ino"), names("family", AF_NETLINK), None,
                 None if e.get("protocol") is None else str(e["protocol"]),
                 names("state", e.get("state")), portid=e.get("portid"),
                 dst_portid=e.get("dst_portid"), dst_group=e.get("dst_group"))


def _packet(names: SkNames, e: dict) -> SkRow:
    proto = e.get("protocol")
    if proto is not None:
        # The ethertype is stored as the kernel keeps it, in network byte order.
        proto = "0x%04x" % (((proto & 0xFF) << 8) | ((proto >> 8) & 0xFF))
    return SkRow(e["id"], None, names("family", AF_PACKET), names("type", e.get("type")),
                 proto, None, ifindex=e.get("ifindex"))


def explore_sk(cp: Checkpoint) -> List[SkRow]:
    """One SkRow per socket, in files.img order, with the descriptors that hold it."""
    names = SkNames(cp.schema)
    owners = _owners(cp)
    queued: Optional[Dict[int, int]] = None
    rows = []
    for ftype, e in cp.sockets():
        if ftype == "INETSK":
            row = _inet(cp, names, e)
        elif ftype == "UNIXSK":
            if queued is None:
                queued = _unix_queues(cp)
            row = _unix(names, e, queued)
        elif ftype == "NETLINKSK":
            row = _netlink(names, e)
        else:
            row = _packet(names, e)
        row.owners = owners.get(e["id"], [])
        rows.append(row)
    return rows
