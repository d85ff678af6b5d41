"""Where deliveries may go: a target policy against requests aimed inside our own network.

A subscription's URL is chosen by an admin, but whoever holds an admin token (or tricks one)
could point it at the machines around the outbound process: the cloud's metadata service at
169.254.169.254, a database's HTTP port on 10.x, the process's own loopback. Every delivery
would then carry case data there, and the dead letter's error text would tell the sender what
answered. So, unless the operator allows it:

- the scheme is ``https`` (plain ``http`` only to hosts named in ``http_hosts``);
- no address that is not globally routable: loopback, RFC 1918 private, carrier-grade NAT,
  link-local (the metadata service), IPv6 unique-local and link-local, IPv4-mapped forms of
  those, multicast, reserved and unspecified ones; nor the names ``localhost``/``*.localhost``.

A literal address or name is refused when the subscription is created (422 ``bad_endpoint``),
and every delivery checks the addresses the host *resolves to* at connection time
(:mod:`winback_notifier.outbound.guarded_http`), since DNS can change after creation.

On-premises targets are allowed explicitly: ``private_hosts`` (names that may resolve to
internal addresses) and ``private_networks`` (CIDRs whose addresses may be reached by any name).
Pure rules here, no I/O.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
"""Names that mean this machine whatever DNS says (and ``*.localhost``, RFC 6761)."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix: its addresses stand for the IPv4 address in their last 32 bits."""

ALLOW_HINT = (
    "allow it with WINBACK_OUTBOUND_ALLOWED_PRIVATE_HOSTS (names) or "
    "WINBACK_OUTBOUND_ALLOWED_PRIVATE_NETWORKS (CIDRs)"
)


class EndpointError(ValueError):
    """An endpoint URL we refuse to send to; the message says why."""


class BlockedTarget(EndpointError):
    """The endpoint is, or resolves to, an internal address the policy does not allow."""


def normalise_host(host: str) -> str:
    """A host as compared: lower case, no brackets, no trailing dot."""
    return host.strip("[]").rstrip(".").lower()


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, if it is an IP literal (``None`` for a name)."""
    try:
        return ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return None


def internal_kind(address: IPAddress) -> str | None:
    """What kind of internal address ``address`` is, or ``None`` if globally routable."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if embedded is not None:
            kind = internal_kind(embedded)
            return None if kind is None else f"{kind} (IPv4 inside IPv6)"
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local (cloud metadata lives here)", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for kind, hit in checks:
        if hit:
            return kind
    if not address.is_global:
        return "not globally routable"
    return None


def is_local_name(host: str) -> bool:
    """Whether ``host`` is a name that always means this machine."""
    name = normalise_host(host)
    return name in LOCAL_NAMES or name.endswith(".localhost")


def is_numeric_host(host: str) -> bool:
    """A host in one of the legacy numeric spellings (``2130706433``, ``0x7f.1``) that the
    resolver turns into an address although :mod:`ipaddress` does not read it as one."""
    name = normalise_host(host)
    if literal_address(name) is not None:
        return False
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class TargetPolicy:
    """Which hosts and addresses deliveries may reach, and over which scheme."""

    private_hosts: frozenset[str] = frozenset()
    """Names allowed to be, or resolve to, internal addresses (on-premises receivers)."""
    private_networks: tuple[IPNetwork, ...] = ()
    """Internal networks any host may resolve into (``10.20.0.0/16``, ``127.0.0.0/8``)."""
    http_hosts: frozenset[str] = frozenset()
    """Hosts (names or literal addresses) that may be sent to over plain ``http``."""

    @classmethod
    def build(
        cls,
        private_hosts: Iterable[str] = (),
        private_networks: Iterable[str] = (),
        http_hosts: Iterable[str] = (),
    ) -> TargetPolicy:
        """A policy from settings' strings; ``ValueError`` for a CIDR that is not one."""
        return cls(
            private_hosts=frozenset(normalise_host(h) for h in private_hosts),
            private_networks=tuple(
                ipaddress.ip_network(n.strip(), strict=False) for n in private_networks
            ),
            http_hosts=frozenset(normalise_host(h) for h in http_hosts),
        )

    def check_url(self, url: str) -> str:
        """``url`` if an HTTP delivery may go there as far as its text shows; raises
        ``EndpointError`` (``BlockedTarget`` for an internal host) otherwise. The addresses a
        name resolves to are checked when connecting (:meth:`check_address`)."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise EndpointError("the endpoint must be an https:// URL with a host")
        if parts.username or parts.password:
            raise EndpointError("the endpoint URL must not carry credentials")
        if parts.scheme == "http" and normalise_host(parts.hostname) not in self.http_hosts:
            raise EndpointError(
                f"plain http is refused ({parts.hostname} is not in "
                "WINBACK_OUTBOUND_HTTP_HOSTS): use https://"
            )
        self.check_host(parts.hostname)
        return url

    def check_host(self, host: str) -> None:
        """Refuse a host whose text alone shows it is internal (a literal address, a local
        name, a numeric spelling), unless allowed."""
        name = normalise_host(host)
        if name in self.private_hosts:
            return
        address = literal_address(name)
        if address is not None:
            self.check_address(name, address)
        elif is_local_name(name):
            raise BlockedTarget(
                f"{host} is this machine: deliveries there are refused; " + ALLOW_HINT
            )
        elif is_numeric_host(name):
            raise BlockedTarget(f"{host} is a numeric address in a legacy spelling: write it out")

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse connecting to ``address`` (which ``host`` resolved to) unless it is global,
        in an allowed network, or ``host`` is an allowed name."""
        kind = internal_kind(address)
        if kind is None or normalise_host(host) in self.private_hosts:
            return
        if any(address in network for network in self.private_networks):
            return
        spelled = "is" if literal_address(host) == address else f"resolves to {address},"
        raise BlockedTarget(
            f"{normalise_host(host)} {spelled} a {kind} address: deliveries there are refused; "
            f"{ALLOW_HINT}"
        )
