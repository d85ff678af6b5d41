"""One kit per vendor for the contract suite (``tests/vendors/test_vendor_contract.py``)."""

from __future__ import annotations

from tests.vendor_kits import delighted, formbricks, qualtrics, surveymonkey, typeform, zendesk
from tests.vendor_kits.kit import VendorKit

KITS: tuple[VendorKit, ...] = (
    typeform.KIT,
    surveymonkey.KIT,
    qualtrics.KIT,
    formbricks.KIT,
    delighted.KIT,
    zendesk.KIT,
)
"""Every vendor with its own intake and adapter (the generic format has its own tests)."""
