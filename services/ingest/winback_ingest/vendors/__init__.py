"""Vendor intakes by vendor type; each module knows one vendor's signature and keys."""

from __future__ import annotations

from winback_ingest.vendors.base import Delivery, SignatureError, Signed, VendorIntake
from winback_ingest.vendors.delighted import DELIGHTED
from winback_ingest.vendors.formbricks import FORMBRICKS
from winback_ingest.vendors.generic import GENERIC
from winback_ingest.vendors.qualtrics import QUALTRICS
from winback_ingest.vendors.surveymonkey import SURVEYMONKEY
from winback_ingest.vendors.typeform import TYPEFORM
from winback_ingest.vendors.zendesk import ZENDESK
from winback_shared.sources import Vendor

INTAKES: dict[Vendor, VendorIntake] = {
    Vendor.GENERIC: GENERIC,
    Vendor.TYPEFORM: TYPEFORM,
    Vendor.DELIGHTED: DELIGHTED,
    Vendor.ZENDESK: ZENDESK,
    Vendor.FORMBRICKS: FORMBRICKS,
    Vendor.SURVEYMONKEY: SURVEYMONKEY,
    Vendor.QUALTRICS: QUALTRICS,
}

__all__ = ["INTAKES", "Delivery", "SignatureError", "Signed", "VendorIntake"]
