"""Which network address a message came from, for the per-address rate limit.

The address is the peer of the connection the server accepted: a caller cannot choose it.
Behind the clinic's reverse proxy every caller has the proxy's address, and the proxy names the
real one in ``X-Forwarded-For``; that header is read only when the peer is one of the clinic's
own proxies (``TRUSTED_PROXIES``), because anyone else can write whatever they like in it.
With a chain of trusted proxies the nearest address that is not one of them is the caller's.

What is counted (:func:`rate_key`):

- an IPv4 address as it is (an IPv4 address written as IPv6, ``::ffff:192.0.2.7``, too);
- an IPv6 address by its /64 network: one home or phone is usually given a whole /64, and could
  otherwise take a new address for every message;
- nothing for this machine itself (loopback): the terminal chat, the tests, and a proxy on this
  machine that ``TRUSTED_PROXIES`` does not name, whose visitors would otherwise all share one
  budget and be throttled together. Such a proxy is reported once in the log.

The platforms' webhooks (Telegram, Twilio, Messenger, Slack) come from the platforms' servers,
which carry every person's messages: they are never counted by address, only by sender.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from dit_assistant.settings import IPNetwork

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPV6_PREFIX = 64

_warned_untrusted_local_proxy = False


def parse_address(text: str | None) -> IPAddress | None:
    """An address as peers and proxies write it (``192.0.2.7``, ``192.0.2.7:4711``,
    ``[2001:db8::1]:443``, ``::ffff:192.0.2.7``), or None if it is not one."""
    value = (text or "").strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]
) -> str | None:
    """The caller's address: ``peer``, or, when ``peer`` is a trusted proxy, the nearest
    address of ``forwarded_for`` (``X-Forwarded-For``) that is not. None if unreadable."""
    address = parse_address(peer)
    if address is None:
        return None
    if not forwarded_for:
        return str(address)
    if not _trusted(address, proxies):
        if address.is_loopback:
            _warn_untrusted_local_proxy()
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        nearer = parse_address(hop)
        if nearer is None:  # not written by a proxy of ours: the last trusted hop is the caller
            break
        address = nearer
        if not _trusted(address, proxies):
            break
    return str(address)


def _warn_untrusted_local_proxy() -> None:
    global _warned_untrusted_local_proxy
    if not _warned_untrusted_local_proxy:
        _warned_untrusted_local_proxy = True
        logger.warning(
            "a proxy on this machine forwards requests but TRUSTED_PROXIES does not name it: "
            "its callers are not limited by address (set TRUSTED_PROXIES=127.0.0.1)"
        )


def rate_key(address: str | None) -> str | None:
    """What the per-address limit counts for ``address``; None: not limited (see above)."""
    parsed = parse_address(address)
    if parsed is None or parsed.is_loopback:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
