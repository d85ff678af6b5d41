"""What every vendor's webhooks promise, tested once and run for each vendor's kit.

Ingest accepts a delivery signed with any configured secret and refuses anything else with a
reason (another secret, the wrong encoding, a changed body, no signature, a signed time outside
the window); it parses the body as the vendor's content type and keys it by the id the router
stores. The router normalises each fixture to what the vendor documents, dead-letters what it
cannot read and skips what carries no response. Through the real pipeline a detractor opens one
case however often it arrives, a promoter is stored without one, and a refused delivery is a 401.

The kits (``tests/vendor_kits/``) say how each vendor signs and what its fixtures hold; what only
one vendor does is tested in ``test_vendor_<name>.py``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from tests.log_guard import remember
from tests.support import Pipeline, eventually, group_caught_up
from tests.vendor_api_fakes import FakeVendorApi, running
from tests.vendor_kits import KITS
from tests.vendor_kits.kit import (
    ANA_RUIZ_ON_CALL_5521,
    Posted,
    Refused,
    Sample,
    VendorKit,
    read_path,
)
from winback_ingest.bodies import parse_body
from winback_ingest.vendors import INTAKES, SignatureError, Signed
from winback_local.signing import new_secret
from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_router.adapters.vendor_api import VendorUnavailable
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.settings import KafkaTopics
from winback_shared.sources import Sources
from winback_shared.survey import SurveyResponse

TIMESTAMPED = tuple(kit for kit in KITS if kit.signed_at is not None)
READ_FROM_AN_API = tuple(kit for kit in KITS if kit.api is not None)


def each_kit(kits: tuple[VendorKit, ...] = KITS) -> pytest.MarkDecorator:
    """Run a test once per vendor."""
    return pytest.mark.parametrize("kit", kits, ids=lambda kit: kit.name)


def each(field: str) -> pytest.MarkDecorator:
    """Run a test once per vendor and entry of its kit's ``field`` (samples, invalid...)."""
    cases = [
        pytest.param(kit, entry, id=f"{kit.name}-{entry.id}")
        for kit in KITS
        for entry in getattr(kit, field)
    ]
    return pytest.mark.parametrize(("kit", "entry"), cases)


@pytest.fixture
async def vendor_api(
    kit: VendorKit, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeVendorApi | None]:
    """The vendor's API, served locally with the kit's documents, for vendors the router reads."""
    if kit.api is None:
        yield None
        return
    monkeypatch.setenv(kit.api.token_env, kit.api.token)
    async with running(kit.api.build(kit.api.token)) as api:
        yield api


@pytest.fixture
def sources(kit: VendorKit, vendor_api: FakeVendorApi | None) -> Sources:
    """The pipeline's source ``survey``: the kit's vendor, mid-rotation (both secrets)."""
    return {"survey": kit.source(*kit.secrets, api_url=vendor_api.url if vendor_api else None)}


def request(posted: Posted, *, now: float | None = None) -> Signed:
    """A posted delivery as an intake sees it."""
    body, headers = posted
    return Signed(
        headers=httpx.Headers(headers),
        body=body,
        now=time.time() if now is None else now,
        tolerance_seconds=300,
    )


def authenticate(kit: VendorKit, posted: Posted, *secrets: str) -> None:
    """Authenticate against a source configured with ``secrets`` (default: the current one)."""
    kit.intake.authenticate(kit.source(*secrets), request(posted))


def envelope(kit: VendorKit, body: bytes) -> SurveyReceived:
    """What ingest publishes for a delivery of this body."""
    return SurveyReceived(
        source="survey", vendor=kit.name, content_type=kit.content_type, body=body.decode()
    )


async def normalised(
    kit: VendorKit,
    body: bytes,
    context: AdapterContext,
    api: FakeVendorApi | None,
    field_map: Mapping[str, Any] | None = None,
) -> SurveyResponse:
    """The router's reading of a delivered body."""
    source = kit.source(api_url=api.url if api else None, field_map=field_map)
    return await normalise(envelope(kit, body), {"survey": source}, context)


def holds(value: Any, expected: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` read at every path ``expected`` names, to compare with it in one go."""
    return {path: read_path(value, path) for path in expected}


# --- signatures ------------------------------------------------------------------------------


@each_kit()
def test_the_vendors_sources_use_its_intake(kit: VendorKit) -> None:
    assert INTAKES[kit.vendor] is kit.intake


@each_kit()
def test_signed_delivery_parses_as_the_vendors_content_type(kit: VendorKit) -> None:
    signed = request(kit.post(kit.detractor.name))
    kit.intake.authenticate(kit.source(), signed)
    assert kit.intake.content_type_for(signed) == kit.content_type


@each_kit()
@pytest.mark.parametrize("which", [0, 1], ids=["current-secret", "retired-secret"])
def test_any_configured_secret_verifies(kit: VendorKit, which: int) -> None:
    authenticate(kit, kit.post(kit.detractor.name, kit.secrets[which]), *kit.secrets)


@each_kit()
def test_signature_from_another_secret_is_refused(kit: VendorKit) -> None:
    posted = kit.post(kit.detractor.name, kit.secrets[1])
    with pytest.raises(SignatureError, match=kit.no_match):
        authenticate(kit, posted, kit.secrets[0])


@each_kit()
def test_right_hmac_in_the_wrong_encoding_is_refused(kit: VendorKit) -> None:
    posted = kit.misencode(kit.signed_payload(kit.detractor.name), kit.secrets[0])
    with pytest.raises(SignatureError, match=kit.no_match):
        authenticate(kit, posted)


@each_kit()
def test_body_changed_after_signing_is_refused(kit: VendorKit) -> None:
    body, headers = kit.post(kit.detractor.name)
    tampered = kit.tamper(body)
    assert tampered != body
    with pytest.raises(SignatureError, match=kit.no_match):
        authenticate(kit, (tampered, headers))


@each_kit()
def test_unsigned_delivery_is_refused(kit: VendorKit) -> None:
    with pytest.raises(SignatureError, match=kit.missing):
        authenticate(kit, kit.unsigned(kit.signed_payload(kit.detractor.name)))


@each_kit(TIMESTAMPED)
@pytest.mark.parametrize("drift", [-86_400, -301, 301])
def test_signed_time_outside_the_window_is_refused(kit: VendorKit, drift: int) -> None:
    assert kit.signed_at is not None
    now = time.time()
    posted = kit.signed_at(kit.signed_payload(kit.detractor.name), kit.secrets[0], now + drift)
    with pytest.raises(SignatureError, match="outside the accepted window"):
        kit.intake.authenticate(kit.source(), request(posted, now=now))


@each_kit(TIMESTAMPED)
@pytest.mark.parametrize("drift", [-299, 299])
def test_signed_time_inside_the_window_verifies(kit: VendorKit, drift: int) -> None:
    assert kit.signed_at is not None
    now = time.time()
    posted = kit.signed_at(kit.signed_payload(kit.detractor.name), kit.secrets[0], now + drift)
    kit.intake.authenticate(kit.source(), request(posted, now=now))


# --- keys ------------------------------------------------------------------------------------


@each("all_samples")
async def test_ingest_keys_by_the_id_the_router_stores(
    kit: VendorKit, entry: Sample, context: AdapterContext, vendor_api: FakeVendorApi | None
) -> None:
    signed = request(kit.post(entry.name))
    source = kit.source(field_map=entry.field_map)
    payload = parse_body(
        signed.body,
        kit.intake.content_type_for(signed),
        max_depth=32,
        max_string_chars=100_000,
    )
    delivery = kit.intake.inspect(source, payload, signed)

    response = await normalised(kit, signed.body, context, vendor_api, entry.field_map)

    assert delivery.response_key == entry.response_id == response.response_id
    if entry.delivery_id is not None:
        assert delivery.delivery_id == entry.delivery_id


# --- normalisation ---------------------------------------------------------------------------


@each("all_samples")
async def test_fixture_is_normalised_as_the_vendor_documents_it(
    kit: VendorKit, entry: Sample, context: AdapterContext, vendor_api: FakeVendorApi | None
) -> None:
    body, _ = kit.post(entry.name)
    response = await normalised(kit, body, context, vendor_api, entry.field_map)
    assert holds(response, entry.holds) == entry.holds


@each("invalid")
async def test_payload_the_router_cannot_read_is_a_dead_letter_with_the_reason(
    kit: VendorKit, entry: Refused, context: AdapterContext, vendor_api: FakeVendorApi | None
) -> None:
    with pytest.raises(InvalidPayload, match=entry.message):
        await normalised(kit, entry.body, context, vendor_api)
    if vendor_api is not None:
        assert sum(vendor_api.hits.values()) == 0  # refused before asking the vendor


@each("skipped")
async def test_delivery_without_a_survey_response_is_skipped_not_dead_lettered(
    kit: VendorKit, entry: Refused, context: AdapterContext, vendor_api: FakeVendorApi | None
) -> None:
    with pytest.raises(NotASurveyResponse, match=entry.message):
        await normalised(kit, entry.body, context, vendor_api)
    if vendor_api is not None:
        assert sum(vendor_api.hits.values()) == 0


# --- responses read from the vendor's API ----------------------------------------------------


async def normalised_detractor(
    kit: VendorKit, context: AdapterContext, api: FakeVendorApi | None
) -> SurveyResponse:
    """The kit's detractor through the router, reading its response from ``api``."""
    return await normalised(kit, kit.post(kit.detractor.name)[0], context, api)


def detractor_path(kit: VendorKit) -> str:
    """Where the vendor's API serves the detractor's response."""
    assert kit.api is not None
    return kit.api.response_path(kit.detractor.response_id)


@each_kit(READ_FROM_AN_API)
async def test_a_delivery_fetches_its_response_once(
    kit: VendorKit, context: AdapterContext, vendor_api: FakeVendorApi
) -> None:
    response = await normalised_detractor(kit, context, vendor_api)
    assert response.response_id == kit.detractor.response_id
    assert vendor_api.hits[detractor_path(kit)] == 1


@each_kit(READ_FROM_AN_API)
async def test_server_error_then_success_is_retried(
    kit: VendorKit, context: AdapterContext, vendor_api: FakeVendorApi
) -> None:
    vendor_api.fail_next(detractor_path(kit), 500)
    response = await normalised_detractor(kit, context, vendor_api)
    assert response.response_id == kit.detractor.response_id
    assert vendor_api.hits[detractor_path(kit)] == 2


@each_kit(READ_FROM_AN_API)
async def test_api_down_through_every_attempt_is_left_for_the_batch_retry(
    kit: VendorKit, context: AdapterContext, vendor_api: FakeVendorApi
) -> None:
    vendor_api.fail_next(detractor_path(kit), *[502] * 4)
    with pytest.raises(VendorUnavailable):
        await normalised_detractor(kit, context, vendor_api)


@each_kit(READ_FROM_AN_API)
async def test_response_the_api_does_not_know_is_a_dead_letter(
    kit: VendorKit, context: AdapterContext, vendor_api: FakeVendorApi
) -> None:
    del vendor_api.documents[detractor_path(kit)]
    with pytest.raises(InvalidPayload, match="HTTP 404"):
        await normalised_detractor(kit, context, vendor_api)


@each_kit(READ_FROM_AN_API)
async def test_wrong_api_token_is_a_dead_letter(
    kit: VendorKit,
    context: AdapterContext,
    vendor_api: FakeVendorApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert kit.api is not None
    monkeypatch.setenv(kit.api.token_env, "revoked-or-expired")
    with pytest.raises(InvalidPayload, match="HTTP 401"):
        await normalised_detractor(kit, context, vendor_api)


@each_kit(READ_FROM_AN_API)
async def test_missing_api_token_is_a_dead_letter_naming_the_variable(
    kit: VendorKit,
    context: AdapterContext,
    vendor_api: FakeVendorApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert kit.api is not None
    monkeypatch.delenv(kit.api.token_env)
    with pytest.raises(InvalidPayload, match=kit.api.token_env):
        await normalised_detractor(kit, context, vendor_api)
    assert sum(vendor_api.hits.values()) == 0


# --- through the real pipeline ---------------------------------------------------------------


async def post(pipeline: Pipeline, posted: Posted) -> httpx.Response:
    """Post a delivery to the pipeline's ingest, as the vendor would."""
    remember(*(ANA_RUIZ_ON_CALL_5521[f"customer.{field}"] for field in ("name", "email", "phone")))
    body, headers = posted
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}", content=body, headers=headers
    )


async def stored(pipeline: Pipeline, sample: Sample) -> Any:
    """The stored response for a sample, with how many cases it has."""
    return await pipeline.pool.fetchrow(
        """SELECT r.revision, r.needs_recovery,
                  (SELECT count(*) FROM recovery_cases c WHERE c.survey_response_id = r.id) AS cases
           FROM survey_responses r WHERE r.source = $1 AND r.response_id = $2""",
        pipeline.source,
        sample.response_id,
    )


def case_holds(row: Any, expected: Mapping[str, Any]) -> dict[str, Any]:
    """A ``case_summaries`` row read the way ``VendorKit.case`` names its values."""
    case = dict(row)
    case["reason_codes"] = [reason["code"] for reason in case["reasons"]]
    return holds(case, expected)


@each_kit()
async def test_detractor_signed_with_the_retired_secret_becomes_a_case(
    kit: VendorKit, pipeline: Pipeline
) -> None:
    answer = await post(pipeline, kit.post(kit.detractor.name, kit.secrets[1]))

    assert answer.status_code == 202, answer.text
    case = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT * FROM case_summaries WHERE source = $1 AND response_id = $2",
            pipeline.source,
            kit.detractor.response_id,
        ),
        timeout=20,
    )
    assert case is not None, "no case was opened"
    assert case_holds(case, kit.case) == kit.case


@each_kit()
async def test_promoter_is_stored_without_a_case(kit: VendorKit, pipeline: Pipeline) -> None:
    assert (await post(pipeline, kit.post(kit.promoter.name))).status_code == 202

    row = await eventually(lambda: stored(pipeline, kit.promoter), timeout=20)

    assert row is not None
    # The response and its case are written in one transaction: no case now means none at all.
    assert (row["needs_recovery"], row["cases"]) == (False, 0)


@each_kit()
async def test_repeat_delivery_is_one_response_and_one_case(
    kit: VendorKit, pipeline: Pipeline, kafka_bootstrap: str, unique: str, topics: KafkaTopics
) -> None:
    posted = kit.post(kit.detractor.name)
    answers = [await post(pipeline, posted), await post(pipeline, posted)]
    assert [answer.status_code for answer in answers] == [202, 202]

    caught_up = await eventually(
        lambda: group_caught_up(kafka_bootstrap, f"router-{unique}", topics.survey_responses),
        timeout=20,
    )

    assert caught_up, "the router did not get through both deliveries"
    row = await stored(pipeline, kit.detractor)
    assert (row["revision"], row["needs_recovery"], row["cases"]) == (1, True, 1)
    assert await pipeline.pool.fetchval("SELECT count(*) FROM survey_responses") == 1


@each_kit()
async def test_refused_delivery_is_401_never_404(kit: VendorKit, pipeline: Pipeline) -> None:
    payload = kit.signed_payload(kit.detractor.name)
    answers = [
        await post(pipeline, kit.sign(payload, new_secret())),
        await post(pipeline, kit.unsigned(payload)),
    ]
    assert [answer.status_code for answer in answers] == [401, 401]
    assert [answer.json()["error"]["code"] for answer in answers] == ["bad_signature"] * 2


@each_kit(TIMESTAMPED)
async def test_stale_delivery_is_401(kit: VendorKit, pipeline: Pipeline) -> None:
    assert kit.signed_at is not None
    payload = kit.signed_payload(kit.detractor.name)
    answer = await post(pipeline, kit.signed_at(payload, kit.secrets[0], time.time() - 3600))
    assert answer.status_code == 401
    assert "window" in answer.json()["error"]["message"]
