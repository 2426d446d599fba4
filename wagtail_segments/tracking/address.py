"""The visitor's IP address, as far as the site's own proxies vouch for it.

A client writes whatever it likes into ``X-Forwarded-For``; each proxy only appends the
address it received the request from. So the chain is read from the right: the last
``TRUSTED_PROXIES`` entries were written by the site's proxies (a count), or the entries
from trusted networks are skipped (a list of networks), and the first address no trusted
proxy stands behind is the client's. The left-most value is never believed. The beacon's
rate limit and the stored (anonymised) IP both use this address.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache

from django.http import HttpRequest

from wagtail_segments.conf import settings as conf

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Longer than any address with a zone id: a longer entry is not an address.
MAX_ENTRY = 100


def parse_address(value: str) -> IPAddress | None:
    """The address ``value`` holds (zone id dropped, IPv4-mapped IPv6 as IPv4), or None."""
    value = value.strip()
    if not value or len(value) > MAX_ENTRY:
        return None
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            logger.warning("TRUSTED_PROXIES: %r is not a network; ignored.", entry)
    return tuple(networks)


def _forwarded_chain(request: HttpRequest) -> list[str]:
    header = request.META.get(conf.IP_HEADER, "")
    return [entry for entry in str(header).split(",")] if header else []


def client_address(request: HttpRequest) -> IPAddress | None:
    """The client's address behind the trusted proxies (docs/tracking.md, "Client IP behind
    proxies"), or None when the entry that names it is not an address."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if conf.IP_HEADER == "REMOTE_ADDR":
        return parse_address(remote)
    chain = _forwarded_chain(request)
    trusted = conf.TRUSTED_PROXIES
    if isinstance(trusted, int) and not isinstance(trusted, bool):
        if trusted < 1 or len(chain) < trusted:
            # Fewer entries than proxies: the request did not come through them all.
            return parse_address(remote)
        return parse_address(chain[-trusted])
    networks = _networks(tuple(trusted or ()))
    address = parse_address(remote)
    for entry in reversed(chain):
        if address is None or not any(address in network for network in networks):
            return address
        # A trusted proxy wrote this entry: the address it received the request from. An
        # entry that is no address ends the walk at the last address a proxy stands behind.
        written = parse_address(entry)
        if written is None:
            return address
        address = written
    return address
