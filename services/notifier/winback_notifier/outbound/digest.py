"""E-mail digests over SMTP: what was owed to a subscription, in one message, every so often.

A supervisor's inbox wants a summary, not one message per breach: an e-mail subscription's
sender takes everything due (up to ``DIGEST_MAX``), sends one message listing each event with
its link, then waits ``outbound_digest_seconds`` before the next. The events are the same rows
as for any channel, so a failed digest is retried (same backoff, same dead letters and replay).

The endpoint is a URL: ``smtp://[user@]host[:port]?from=...&to=...&to=...`` (port 587, STARTTLS
required) or ``smtps://...`` (port 465, TLS from the start). Plain SMTP without TLS only to
loopback (which the target policy must allow). The user's password is the subscription's
credential. Sending uses the standard library's ``smtplib`` in a thread: one blocking message
every few minutes does not earn an async SMTP dependency.

The mail server is held to the same target policy as HTTP endpoints: its name is resolved, every
address checked, and the connection made to a checked address (TLS still verifies the name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from winback_notifier.outbound.channels.base import Context, Delivery, Outcome, Verdict
from winback_notifier.outbound.channels.message import chat_message
from winback_notifier.outbound.subscriptions import EndpointError, is_loopback
from winback_notifier.outbound.targets import IPAddress, TargetPolicy

DIGEST_MAX = 200
"""Events in one digest at most; more wait for the next."""


@dataclass(frozen=True)
class MailEndpoint:
    """Where and how a digest is sent."""

    host: str
    port: int
    implicit_tls: bool
    user: str | None
    sender: str
    recipients: tuple[str, ...]


def check_mail_endpoint(url: str) -> MailEndpoint:
    """The endpoint ``url`` names; ``EndpointError`` if we will not send there."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise EndpointError("an e-mail endpoint is smtp://host?from=...&to=... (or smtps://)")
    query = parse_qs(parts.query)
    senders, recipients = query.get("from", []), query.get("to", [])
    if len(senders) != 1 or not recipients:
        raise EndpointError("an e-mail endpoint needs one from= and at least one to=")
    if parts.password:
        raise EndpointError(
            "give the SMTP password as the subscription's credential, not in the URL"
        )
    return MailEndpoint(
        host=parts.hostname,
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        implicit_tls=parts.scheme == "smtps",
        user=unquote(parts.username) if parts.username else None,
        sender=senders[0],
        recipients=tuple(recipients),
    )


def digest_message(
    deliveries: list[Delivery], context: Context, endpoint: MailEndpoint, now: datetime
) -> EmailMessage:
    """One plain-text message listing each event and its link (no customer details)."""
    notices = [chat_message(delivery, context) for delivery in deliveries]
    count = len(notices)
    message = EmailMessage()
    message["Subject"] = f"winback: {count} event{'s' if count != 1 else ''} " + (
        f"for {context.subscription.name}"
    )
    message["From"] = endpoint.sender
    message["To"] = ", ".join(endpoint.recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=endpoint.sender.rpartition("@")[2] or None)
    lines = [f"{count} since the last digest ({context.subscription.name}):", ""]
    for notice in notices:
        lines.append(f"- {notice.headline}")
        lines.extend(f"    {name}: {value}" for name, value in notice.facts)
        lines.append(f"    {notice.link}")
    lines += ["", f"The floor now: {context.ops_link()}"]
    message.set_content("\n".join(lines))
    return message


def checked_addresses(endpoint: MailEndpoint, policy: TargetPolicy) -> list[IPAddress]:
    """The mail server's addresses, each allowed by ``policy`` (``BlockedTarget`` if not)."""
    policy.check_host(endpoint.host)
    infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in found:
        policy.check_address(endpoint.host, address)
    return found


def _send(
    endpoint: MailEndpoint,
    password: str | None,
    message: EmailMessage,
    timeout: float,
    policy: TargetPolicy,
) -> None:
    tls = ssl.create_default_context()
    address = str(checked_addresses(endpoint, policy)[0])
    client: smtplib.SMTP
    if endpoint.implicit_tls:
        client = smtplib.SMTP_SSL(timeout=timeout, context=tls)
    else:
        client = smtplib.SMTP(timeout=timeout)
    # Connect to the address just checked, not to the name again (it could resolve elsewhere
    # now); TLS (implicit or STARTTLS) verifies the certificate against the name smtplib keeps
    # in _host, set before connecting.
    client._host = endpoint.host  # type: ignore[attr-defined]
    client.connect(address, endpoint.port)
    with client:
        if not endpoint.implicit_tls and not is_loopback(endpoint.host):
            client.starttls(context=tls)  # refuses to go on in clear when the server cannot
        if endpoint.user:
            client.login(endpoint.user, password or "")
        client.send_message(message)


async def send_digest(
    endpoint: MailEndpoint,
    password: str | None,
    message: EmailMessage,
    timeout: float,
    policy: TargetPolicy,
) -> Outcome:
    """Send one digest; SMTP 5xx answers and a blocked server are refused for good,
    everything else retried."""
    try:
        await asyncio.to_thread(_send, endpoint, password, message, timeout, policy)
    except EndpointError as exc:
        return Outcome(Verdict.REFUSED, None, f"blocked: {exc}")
    except smtplib.SMTPResponseException as exc:
        verdict = Verdict.REFUSED if exc.smtp_code >= 500 else Verdict.RETRY
        return Outcome(verdict, exc.smtp_code, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300])
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(Verdict.REFUSED, None, f"recipients refused: {sorted(exc.recipients)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(Verdict.RETRY, None, f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(Verdict.DELIVERED, 250)
