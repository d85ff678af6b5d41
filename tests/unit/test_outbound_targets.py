"""The outbound target policy: internal addresses refused by their text and once resolved,
allow-lists for on-premises targets, connections made to the checked address, and redirects
never followed. Local receivers on loopback; names resolved by a scripted resolver."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from tests.outbound_fakes import WebhookReceiver, running
from tests.outbound_support import LOOPBACK
from tests.support import serve
from winback_notifier.outbound.channels.base import Delivery, Verdict
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.guarded_http import Resolver, guarded_client, system_resolver
from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.sender import EndpointWorker, SenderConfig
from winback_notifier.outbound.subscriptions import Channel, Subscription, check_endpoint
from winback_notifier.outbound.targets import (
    BlockedTarget,
    EndpointError,
    IPAddress,
    TargetPolicy,
    internal_kind,
)

STRICT = TargetPolicy()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "not globally routable"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
    ],
)
def test_internal_addresses_are_named(address: str, kind: str) -> None:
    found = internal_kind(ipaddress.ip_address(address))
    assert found is not None and found.startswith(kind)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert internal_kind(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/hook",
        "https://[fd00::7]/hook",
        "https://[::ffff:10.0.0.7]/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://api.localhost/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
    ],
)
def test_internal_hosts_are_refused_by_their_text(url: str) -> None:
    with pytest.raises(BlockedTarget):
        check_endpoint(url, STRICT)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "plain http is refused"),
        ("http://127.0.0.1:9000/hook", "plain http is refused"),
        ("ftp://example.com/", "https://"),
        ("https://user:pw@example.com/", "credentials"),
        ("hook", "https://"),
    ],
)
def test_https_only_by_default(url: str, reason: str) -> None:
    with pytest.raises(EndpointError, match=reason):
        check_endpoint(url, STRICT)


def test_public_https_endpoints_pass() -> None:
    for url in ("https://hooks.slack.com/services/T/B/X", "https://93.184.216.34/h"):
        assert check_endpoint(url, STRICT) == url


def test_allow_lists_let_named_hosts_and_networks_through() -> None:
    policy = TargetPolicy.build(
        private_hosts=["crm.corp.example", "localhost"],
        private_networks=["10.20.0.0/16"],
        http_hosts=["crm.corp.example", "127.0.0.1"],
    )
    assert policy.check_url("http://crm.corp.example/hook")
    assert policy.check_url("https://localhost/hook")
    assert policy.check_url("https://10.20.3.4/hook")
    with pytest.raises(BlockedTarget):
        policy.check_url("https://10.21.0.1/hook")  # outside the allowed network
    with pytest.raises(BlockedTarget):
        policy.check_url("http://127.0.0.1/hook")  # http allowed, the address is not
    policy.check_address("crm.corp.example", ipaddress.ip_address("10.9.9.9"))
    with pytest.raises(BlockedTarget, match=r"other.example resolves to 10.9.9.9, a private"):
        policy.check_address("other.example", ipaddress.ip_address("10.9.9.9"))
    with pytest.raises(ValueError):
        TargetPolicy.build(private_networks=["not-a-cidr"])


class Dns:
    """A scripted resolver that counts its lookups."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return [ipaddress.ip_address(address) for address in self.table[host]]


async def test_a_name_resolving_to_an_internal_address_is_refused_before_connecting() -> None:
    async with running(WebhookReceiver()) as receiver:
        port = httpx.URL(receiver.url).port
        dns = Dns({"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
        # http allowed for the name, so only the resolved address can refuse it
        policy = TargetPolicy.build(http_hosts=["hooks.example.com"])
        async with guarded_client(policy, 5, dns) as client:
            with pytest.raises(BlockedTarget, match=r"resolves to 127\.0\.0\.1, a loopback"):
                await client.post(f"http://hooks.example.com:{port}/hook", content=b"{}")
    assert receiver.seen == []


async def test_the_guard_refuses_a_literal_address_the_url_check_never_saw() -> None:
    async with running(WebhookReceiver()) as receiver:
        policy = TargetPolicy.build(http_hosts=["127.0.0.1"])
        async with guarded_client(policy, 5) as client:
            with pytest.raises(BlockedTarget):
                await client.post(receiver.url, content=b"{}")
    assert receiver.seen == []


async def test_the_connection_goes_to_the_checked_address_under_the_name() -> None:
    """Resolved once, connected to as checked: a second answer (a rebinding) is never asked."""
    async with running(WebhookReceiver()) as receiver:
        port = httpx.URL(receiver.url).port
        dns = Dns({"receiver.test": ["127.0.0.1"]})
        policy = TargetPolicy.build(private_hosts=["receiver.test"], http_hosts=["receiver.test"])
        async with guarded_client(policy, 5, dns) as client:
            response = await client.post(f"http://receiver.test:{port}/hook", content=b"{}")
    assert response.status_code == 401  # reached the receiver (unsigned: refused there)
    assert receiver.seen[0].headers["host"] == f"receiver.test:{port}"
    assert dns.lookups == ["receiver.test"]


async def test_an_allowed_network_is_reached() -> None:
    async with running(WebhookReceiver()) as receiver, guarded_client(LOOPBACK, 5) as client:
        response = await client.post(receiver.url, content=b"{}")
    assert response.status_code == 401 and len(receiver.seen) == 1


def subscription(url: str) -> Subscription:
    return Subscription(
        id=1,
        name="crm",
        channel=Channel.WEBHOOK,
        url=url,
        event_types=frozenset({EventType.CASE_BREACHED}),
        created_at=datetime.now(UTC),
        secrets=("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",),
    )


DELIVERY = Delivery(
    id=1,
    webhook_id="msg_1",
    event_type=EventType.CASE_BREACHED,
    case_id=7,
    payload={"type": "case.breached", "data": {}},
)


@asynccontextmanager
async def worker(
    url: str, policy: TargetPolicy = LOOPBACK, resolve: Resolver = system_resolver
) -> AsyncIterator[EndpointWorker]:
    config = SenderConfig(
        policy=RetryPolicy(1, 1, 3), console_url="http://c", targets=policy, timeout=5
    )
    async with guarded_client(policy, 5, resolve) as client:
        yield EndpointWorker(subscription(url), pool=None, client=client, config=config)  # type: ignore[arg-type]


async def test_a_redirect_is_refused_not_followed() -> None:
    async with running(WebhookReceiver()) as elsewhere:
        moved = FastAPI()

        @moved.post("/hook")
        async def hook(request: Request) -> Response:
            return RedirectResponse(elsewhere.url, status_code=307)

        async with serve(moved) as url, worker(f"{url}/hook") as sender:
            outcome = await sender.attempt(DELIVERY)
    assert outcome.verdict is Verdict.REFUSED and outcome.status == 307
    assert "not followed" in (outcome.error or "") and elsewhere.url in (outcome.error or "")
    assert elsewhere.seen == []


async def test_a_blocked_target_is_a_refusal_with_its_reason() -> None:
    async with running(WebhookReceiver()) as receiver:
        port = httpx.URL(receiver.url).port
        named = f"http://receiver.test:{port}/hook"
        dns = Dns({"receiver.test": ["127.0.0.1"]})
        by_name = TargetPolicy.build(http_hosts=["receiver.test"])
        async with worker(named, by_name, dns) as sender:
            at_connect = await sender.attempt(DELIVERY)
        by_address = TargetPolicy.build(http_hosts=["127.0.0.1"])
        async with worker(receiver.url, by_address) as sender:
            literal = await sender.attempt(DELIVERY)
        async with worker(receiver.url, STRICT) as sender:
            plain = await sender.attempt(DELIVERY)
    assert at_connect.verdict is Verdict.REFUSED
    assert (at_connect.error or "").startswith(
        "blocked: receiver.test resolves to 127.0.0.1, a loopback address"
    )
    assert literal.verdict is Verdict.REFUSED
    assert (literal.error or "").startswith("blocked: 127.0.0.1 is a loopback address")
    assert plain.verdict is Verdict.REFUSED and "plain http is refused" in (plain.error or "")
    assert receiver.seen == []
