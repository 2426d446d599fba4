"""The webhook's guard: which addresses count as internal, and that the socket connects to
the address that was checked, once resolved (DNS rebinding gets no second answer)."""

import socket

import pytest

from wagtail_segments.campaigns import public_http
from wagtail_segments.campaigns.public_http import (
    InternalAddressRefused,
    connect_to_public_address,
    internal_kind,
    literal_internal_kind,
)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fe80::1%eth0", "link-local"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"), ("ff0e::1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("::7f00:1", "reserved"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "not public"),  # shared address space (carrier-grade NAT, some clouds' metadata)
    # IPv6 carrying an IPv4 address is judged by the IPv4 address
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"),
])
def test_internal_addresses_are_named_by_kind(address, kind):
    assert internal_kind(address) == kind


@pytest.mark.parametrize("address", [
    "93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "2002:5db8:d822::", "64:ff9b::808:808",
])
def test_public_addresses_pass(address):
    assert internal_kind(address) is None


def test_a_host_written_as_an_address_is_judged_without_resolving_and_a_name_is_left_to_connecting():
    assert literal_internal_kind("[::1]") == "loopback"
    assert literal_internal_kind("169.254.169.254") == "link-local"
    assert literal_internal_kind("crm.example.com") is None
    assert literal_internal_kind("93.184.216.34") is None


class FakeNetwork:
    """getaddrinfo answering from ``answers`` (one list per call: a rebinding resolver
    changes its answer), and sockets that record where they connect and are refused."""

    def __init__(self, monkeypatch, *answers):
        self.answers, self.lookups, self.connected = list(answers), 0, []
        network = self

        def getaddrinfo(host, port, type=0, **kwargs):
            network.lookups += 1
            addresses = network.answers[min(network.lookups, len(network.answers)) - 1]
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

        class Socket:
            def __init__(self, *args):
                pass

            def settimeout(self, timeout):
                pass

            def connect(self, sockaddr):
                network.connected.append(sockaddr[0])
                raise ConnectionRefusedError("refused")

            def close(self):
                pass

        monkeypatch.setattr(public_http.socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(public_http.socket, "socket", Socket)


def test_a_name_that_resolves_only_to_internal_addresses_is_refused_without_connecting(monkeypatch):
    network = FakeNetwork(monkeypatch, ["10.0.0.5", "fd00::5"])

    with pytest.raises(InternalAddressRefused) as refused:
        connect_to_public_address(("crm.example.com", 443), 1)

    assert network.connected == []
    assert str(refused.value) == (
        "crm.example.com resolves only to internal addresses: 10.0.0.5 (private), fd00::5 (private).")


def test_only_the_public_addresses_of_a_mixed_answer_are_tried(monkeypatch):
    network = FakeNetwork(monkeypatch, ["127.0.0.1", "93.184.216.34", "::1", "2606:4700:4700::1111"])

    with pytest.raises(ConnectionRefusedError):
        connect_to_public_address(("crm.example.com", 443), 1)

    assert network.connected == ["93.184.216.34", "2606:4700:4700::1111"]


def test_a_rebinding_resolver_gets_no_second_question(monkeypatch):
    """Public when asked first, loopback after: the connection goes to the address checked."""
    network = FakeNetwork(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])

    with pytest.raises(ConnectionRefusedError):
        connect_to_public_address(("rebind.example.com", 80), 1)

    assert network.lookups == 1 and network.connected == ["93.184.216.34"]


def test_the_setting_lets_internal_addresses_through(monkeypatch, settings):
    settings.WAGTAIL_SEGMENTS = {**settings.WAGTAIL_SEGMENTS, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": True}
    network = FakeNetwork(monkeypatch, ["10.0.0.5"])

    with pytest.raises(ConnectionRefusedError):
        connect_to_public_address(("crm.internal", 80), 1)

    assert network.connected == ["10.0.0.5"]
