"""Which hosts a source may reach: public addresses only, unless the operator lists the host.

The host is resolved here and the connection goes to the address checked (never resolved a
second time), so a DNS answer that changes between check and connect cannot lead inside.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from csvhub.sources.errors import SourceRefused


def address_resolve(host: str, port: int) -> str:
    """An address of `host` that a source may connect to; refuses loopback, link-local,
    private and other non-public addresses unless the host is in CSVHUB_SOURCE_ALLOWED_HOSTS."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SourceRefused(f"The host {host!r} could not be resolved.") from None
    addresses = [str(entry[4][0]) for entry in found]
    if _allowed(host):
        return addresses[0]
    for address in addresses:
        if not _public(address):
            raise SourceRefused(
                f"{host} resolves to {address}, an address inside a private network; csvhub "
                "fetches only from public addresses (an operator can allow a host with "
                "CSVHUB_SOURCE_ALLOWED_HOSTS)."
            )
    return addresses[0]


def _allowed(host: str) -> bool:
    listed = {name.lower() for name in settings.CSVHUB_SOURCE_ALLOWED_HOSTS}
    return host.lower().strip("[]") in listed


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
