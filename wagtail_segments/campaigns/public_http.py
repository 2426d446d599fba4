"""HTTP to the public internet only: the webhook action's guard against server-side request forgery.

Editors choose a webhook's URL. Unguarded, the site would POST wherever they point it: its
own admin on 127.0.0.1, a database's HTTP port on the private network, the cloud's metadata
service on 169.254.169.254. So the host is resolved here and each address is checked before
it is connected to, and the socket connects to that very address: a second DNS answer
(rebinding: public when checked, 127.0.0.1 when connected) never reaches the network. The
URL's host name still goes in the ``Host`` header and, over HTTPS, in the TLS server name
(SNI) and the certificate check, because only the TCP connection is pinned.

Refused: loopback, private, link-local, multicast, reserved and unspecified addresses, shared
(carrier-grade NAT) space and anything else that is not globally routable, in IPv4 and IPv6;
an IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, NAT64's
``64:ff9b::/96``) is judged by the IPv4 address inside. ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES``
turns the check off for sites whose receivers are internal.

Environment proxies (``http_proxy``, ``https_proxy``) are not used: through a proxy the site
would check the proxy's address, not the receiver's.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_segments.conf import settings as conf

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class InternalAddressRefused(OSError):
    """Every address the host resolved to is internal. An ``OSError``, so that urllib
    reports it as the reason of its ``URLError`` like any other failure to connect."""

    def __init__(self, host: str, refused: list[tuple[str, str]]):
        self.host, self.refused = host, refused
        addresses = ", ".join(_("%(address)s (%(kind)s)") % {"address": a, "kind": KINDS[k]} for a, k in refused)
        super().__init__(_("%(host)s resolves only to internal addresses: %(addresses)s.") % {
            "host": host, "addresses": addresses})


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for, where it stands for one; else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


KINDS = {
    "unspecified": gettext_lazy("unspecified"), "loopback": gettext_lazy("loopback"),
    "link-local": gettext_lazy("link-local"), "multicast": gettext_lazy("multicast"),
    "reserved": gettext_lazy("reserved"), "private": gettext_lazy("private"),
    "not public": gettext_lazy("not globally routable"),
}


def internal_kind(address: str) -> str | None:
    """Why ``address`` (an IP address as text, an IPv6 zone allowed) is not public: a key of
    ``KINDS``; None for a public address. The most specific kind comes first: a loopback
    address is private too, but "loopback" says more."""
    ip = embedded_ipv4(ipaddress.ip_address(address.split("%", 1)[0]))
    checks = (
        ("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast), ("reserved", ip.is_reserved), ("private", ip.is_private),
    )
    for kind, matches in checks:
        if matches:
            return kind
    return None if ip.is_global else "not public"


def literal_internal_kind(host: str) -> str | None:
    """``internal_kind`` of a host written as an IP address; None for a name (only resolving
    it can tell, and that is done when connecting)."""
    try:
        return internal_kind(host.strip("[]"))
    except ValueError:
        return None


def connect_to_public_address(address: tuple[str, int], timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
                              source_address=None) -> socket.socket:
    """A TCP connection to the first address of ``address``'s host that is public (every
    address when the setting allows private ones) and answers; the address connected to is
    the one checked. Raises ``InternalAddressRefused`` when every address is internal."""
    host, port = address
    allow_private = conf.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    refused: list[tuple[str, str]] = []
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        why = None if allow_private else internal_kind(sockaddr[0])
        if why:
            refused.append((sockaddr[0], why))
            continue
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as failed:
            sock.close()
            error = failed
    if error is not None:
        raise error
    raise InternalAddressRefused(host, refused)


class PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # http.client opens its socket through this attribute (connect() calls it): the
        # one place to choose the address while keeping everything else it does.
        self._create_connection = connect_to_public_address


class PublicHTTPSConnection(http.client.HTTPSConnection):
    """Pinned to the checked address; TLS still names and verifies the URL's host."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = connect_to_public_address


class PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(PublicHTTPConnection, req)


class PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(PublicHTTPSConnection, req, context=self._context)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: following it could lead a POST anywhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def public_opener() -> urllib.request.OpenerDirector:
    """A urllib opener that connects only to public addresses (see the module's docstring),
    never through a proxy, and follows no redirect."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), PublicHTTPHandler, PublicHTTPSHandler, NoRedirects,
    )
