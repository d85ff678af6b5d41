"""The HTTP client deliveries go through: it connects only to addresses the policy allows.

Checking a URL's host when the subscription is made is not enough: its name can resolve to
another address tomorrow, or to another one between a check and the connection (DNS
rebinding, a record with a TTL of zero). So the check is made where the connection is made:
httpcore asks its network backend to ``connect_tcp(host, port)``; :class:`GuardedBackend`
resolves the host itself, checks *every* address it got (:meth:`TargetPolicy.check_address`),
and connects to those addresses, never to the name again. TLS still verifies the certificate
against the name (httpcore passes the URL's host as ``server_hostname``), and the connection
pool is keyed by that name, so a connection is only ever reused for the host it was made for.

A refused address raises :class:`BlockedTarget`, which httpx lets through unchanged: the sender
makes it a dead letter saying why. A name that does not resolve is an ``httpx.ConnectError``
(retried, like any unreachable endpoint). Redirects are never followed. Environment proxies
(``HTTPS_PROXY``) are ignored: through a proxy, the proxy would choose the address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from winback_notifier.outbound.targets import IPAddress, TargetPolicy

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""``(host, port)`` → the addresses to connect to, in the order to try them."""


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's answer for ``host`` (``getaddrinfo``), without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves, checks and connects in one step."""

    def __init__(
        self,
        policy: TargetPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._resolve = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses of ``host``: every one must pass, or none is used."""
        self.policy.check_host(host)
        try:
            found = await self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in found:
            self.policy.check_address(host, address)
        return found

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first checked address of ``host`` that answers."""
        failure: httpcore.ConnectError | None = None
        for address in await self.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a delivery goes to a network address."""
        raise httpcore.ConnectError("deliveries never go to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        """As the inner backend sleeps."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool built on :class:`GuardedBackend`.

    httpx takes no network backend, so the pool it built is replaced by an equal one with the
    backend (``tests/unit/test_outbound_targets.py`` checks a refused address is refused through
    a real client, so an httpx release that changed this would fail there, not silently).
    """

    def __init__(self, backend: GuardedBackend, *, verify: bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def guarded_client(
    policy: TargetPolicy, timeout: float, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    """The client the senders post with: guarded connections, no redirects, no proxies."""
    return httpx.AsyncClient(
        transport=GuardedTransport(GuardedBackend(policy, resolver)),
        timeout=timeout,
        follow_redirects=False,  # a redirect could carry signed case data elsewhere
        trust_env=False,
        headers={"user-agent": "winback-outbound"},
    )
