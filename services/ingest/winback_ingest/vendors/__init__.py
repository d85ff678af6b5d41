"""Vendor intakes by vendor type; each module knows one vendor's signature and keys."""

from __future__ import annotations

from winback_ingest.vendors.base import Delivery, SignatureError, Signed, VendorIntake
from winback_ingest.vendors.generic import GENERIC
from winback_shared.sources import Vendor

INTAKES: dict[Vendor, VendorIntake] = {
    Vendor.GENERIC: GENERIC,
}

__all__ = ["INTAKES", "Delivery", "SignatureError", "Signed", "VendorIntake"]
