"""Standard Webhooks signature verification, checked against an independently computed vector."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from winback_ingest.vendors.standard_webhooks import SignatureError, sign, verify

# The example published with the Standard Webhooks specification.
SPEC_SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
KEY = base64.b64decode(SPEC_SECRET)


def check(
    signature: str,
    *,
    keys: list[bytes] | None = None,
    now: float = SPEC_TIMESTAMP,
    body: bytes = SPEC_BODY,
    msg_id: str = SPEC_ID,
) -> None:
    verify(
        keys=keys or [KEY],
        msg_id=msg_id,
        timestamp=str(SPEC_TIMESTAMP),
        signature_header=signature,
        body=body,
        now=now,
        tolerance_seconds=300,
    )


def test_sign_matches_the_specification_example() -> None:
    assert sign(KEY, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_sign_matches_a_plain_hmac_computed_here() -> None:
    content = b"msg_x.1700000000.{}"
    expected = base64.b64encode(hmac.new(b"k" * 24, content, hashlib.sha256).digest()).decode()
    assert sign(b"k" * 24, "msg_x", 1700000000, b"{}") == f"v1,{expected}"


def test_specification_example_verifies() -> None:
    check(SPEC_SIGNATURE)


def test_any_of_several_signatures_and_keys_verifies() -> None:
    other_key = b"another-key-of-enough-bytes"
    check(f"v1,bm90LWl0 {SPEC_SIGNATURE}", keys=[other_key, KEY])


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", "no signature matches"),
        ("v2," + SPEC_SIGNATURE[3:], "no v1 signature"),
        (SPEC_SIGNATURE[3:], "no v1 signature"),
    ],
)
def test_wrong_or_unversioned_signature_is_refused(signature: str, message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        check(signature)


def test_changed_body_or_id_is_refused() -> None:
    with pytest.raises(SignatureError):
        check(SPEC_SIGNATURE, body=SPEC_BODY + b" ")
    with pytest.raises(SignatureError):
        check(SPEC_SIGNATURE, msg_id="msg_other")


@pytest.mark.parametrize("drift", [-301, 301])
def test_timestamp_outside_five_minutes_is_refused(drift: int) -> None:
    with pytest.raises(SignatureError, match="window"):
        check(SPEC_SIGNATURE, now=SPEC_TIMESTAMP + drift)


@pytest.mark.parametrize("drift", [-300, 300])
def test_timestamp_at_the_edge_of_the_window_is_accepted(drift: int) -> None:
    check(SPEC_SIGNATURE, now=SPEC_TIMESTAMP + drift)


@pytest.mark.parametrize("missing", ["msg_id", "timestamp", "signature_header"])
def test_missing_header_is_refused(missing: str) -> None:
    args: dict[str, object] = {
        "msg_id": SPEC_ID,
        "timestamp": str(SPEC_TIMESTAMP),
        "signature_header": SPEC_SIGNATURE,
    }
    args[missing] = None
    with pytest.raises(SignatureError, match="required"):
        verify(keys=[KEY], body=SPEC_BODY, now=SPEC_TIMESTAMP, tolerance_seconds=300, **args)  # type: ignore[arg-type]


def test_non_numeric_timestamp_is_refused() -> None:
    with pytest.raises(SignatureError, match="integer"):
        verify(
            keys=[KEY],
            msg_id=SPEC_ID,
            timestamp="yesterday",
            signature_header=SPEC_SIGNATURE,
            body=SPEC_BODY,
            now=SPEC_TIMESTAMP,
            tolerance_seconds=300,
        )
