"""The client address behind the site's trusted proxies: never what a client wrote itself."""

import ipaddress

import pytest
from django.test import override_settings

from wagtail_segments.tracking.address import client_address

XFF = "HTTP_X_FORWARDED_FOR"


def address_of(rf, remote="203.0.113.5", forwarded=None, **settings):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta[XFF] = forwarded
    with override_settings(WAGTAIL_SEGMENTS=settings):
        address = client_address(rf.get("/", **meta))
    return str(address) if address is not None else None


def test_by_default_the_connecting_address_is_the_client(rf):
    assert address_of(rf, forwarded="198.51.100.7") == "203.0.113.5"


def test_behind_one_proxy_the_address_it_appended_is_the_client(rf):
    spoofed = "192.0.2.66, 198.51.100.7"  # the client wrote the first value, the proxy the last
    assert address_of(rf, remote="10.0.0.2", forwarded=spoofed, IP_HEADER=XFF) == "198.51.100.7"


@pytest.mark.parametrize(
    "hops, expected", [(1, "10.1.0.3"), (2, "198.51.100.7"), (3, "192.0.2.66"), (4, "10.0.0.2")],
)
def test_the_configured_hops_pick_the_address_from_the_right(rf, hops, expected):
    # client 198.51.100.7 (who wrote 192.0.2.66) -> CDN 10.1.0.3 -> proxy 10.0.0.2 -> site
    chain = "192.0.2.66, 198.51.100.7, 10.1.0.3"
    assert address_of(rf, remote="10.0.0.2", forwarded=chain, IP_HEADER=XFF, TRUSTED_PROXIES=hops) == expected


def test_trusted_networks_are_skipped_from_the_right(rf):
    chain = "192.0.2.66, 198.51.100.7, 10.1.0.3"
    networks = ["10.0.0.0/8", "2001:db8::/32"]
    assert address_of(rf, remote="10.0.0.2", forwarded=chain, IP_HEADER=XFF, TRUSTED_PROXIES=networks) == "198.51.100.7"
    # A request that did not come through a trusted proxy: its header is the client's own.
    assert address_of(rf, remote="203.0.113.5", forwarded=chain, IP_HEADER=XFF, TRUSTED_PROXIES=networks) == "203.0.113.5"
    # An entry that is no address ends the walk at the last trusted proxy.
    assert address_of(rf, remote="10.0.0.2", forwarded="198.51.100.7, junk", IP_HEADER=XFF,
                      TRUSTED_PROXIES=networks) == "10.0.0.2"


@pytest.mark.parametrize(
    "value, expected",
    [("::ffff:198.51.100.7", "198.51.100.7"), ("fe80::1%eth0", "fe80::1"), ("not an address", None),
     ("198.51.100.7\x00", None), ("", None)],
)
def test_the_address_is_parsed_or_none(rf, value, expected):
    assert address_of(rf, remote=value) == expected
    if expected:
        ipaddress.ip_address(expected)
