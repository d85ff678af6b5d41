"""Each vendor's example in ingest's ``/docs`` (what ``winback send --file --source`` users try
first) ends with a coded reason, on the router's hot path and after the refiner alike.

The examples of Delighted and Zendesk carry the comment alone (their default field maps place no
chosen reason), so the comment has to be one the rules find: "Nobody could tell me why my plan
changed." was coded by the fast model only, and the refiner's full model then re-coded it
``unclassified``.
"""

from __future__ import annotations

import json

import pytest

from winback_ingest.vendors import INTAKES
from winback_router.adapters import AdapterContext, normalise
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.coding import code_response
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Vendor
from winback_shared.taxonomy import UNCLASSIFIED

STANDARD_WEBHOOKS_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="
SELF_CONTAINED = [Vendor.GENERIC, Vendor.TYPEFORM, Vendor.FORMBRICKS, Vendor.DELIGHTED,
                  Vendor.ZENDESK]  # fmt: skip
"""The vendors whose deliveries hold the response (SurveyMonkey and Qualtrics post ids)."""


@pytest.mark.parametrize("vendor", SELF_CONTAINED, ids=str)
async def test_each_vendors_example_ends_with_a_coded_reason(vendor: Vendor) -> None:
    secret = STANDARD_WEBHOOKS_SECRET if vendor in (Vendor.GENERIC, Vendor.FORMBRICKS) else "k" * 16
    source = SourceConfig.model_validate({"vendor": str(vendor), "secrets": [secret]})
    envelope = SurveyReceived(
        source="s",
        vendor=str(vendor),
        content_type="json",
        body=json.dumps(INTAKES[vendor].example),
    )
    context = AdapterContext(api=VendorApiClient())
    try:
        response = await normalise(envelope, {"s": source}, context)
    finally:
        await context.api.aclose()
    for path in (FAST_MODEL, DEFAULT_MODEL):  # the router's, then the refiner's
        codes = [reason.code for reason in code_response(response, load_and_compile(model=path))]
        assert codes and UNCLASSIFIED not in codes, (path.name, codes)
