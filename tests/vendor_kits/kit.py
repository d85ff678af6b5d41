"""What the vendor contract suite needs to know about one vendor.

Every vendor makes the same promises (``tests/vendors/test_vendor_contract.py``): a delivery
signed with any configured secret is accepted and anything else is refused with a reason, a
signed time outside the window is refused, the body parses as the vendor's content type,
ingest keys a delivery by the id the router stores, each fixture normalises to what the vendor
documents, a payload the router cannot read is a dead letter, and through the real pipeline a
detractor opens one case however often it is delivered. A kit is the vendor's side of that:
how it signs, which fixtures it sends (``tests/data/<vendor>/``) and what must come of them.
What only one vendor does stays in that vendor's own test module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tests.vendor_api_fakes import FakeVendorApi
from winback_ingest.vendors.base import VendorIntake
from winback_shared.sources import SourceConfig, Vendor
from winback_shared.survey import Score

DATA = Path(__file__).parents[1] / "data"

Posted = tuple[bytes, dict[str, str]]
"""A delivery as the vendor posts it: the body and the headers."""

UNREACHABLE_API = "http://127.0.0.1:9"
"""A vendor API base URL for tests that must not call it (nothing listens on port 9)."""


ANA_RUIZ_ON_CALL_5521: Mapping[str, Any] = {
    "customer.id": "C-88231",
    "customer.name": "Ana Ruiz",
    "customer.email": "ana.ruiz@example.com",
    "customer.phone": "+34 600 123 456",
    "interaction.id": "call-5521",
    "interaction.channel": "phone",
    "interaction.agent": "jmoreau",
    "interaction.team": "Billing",
}
"""Who several vendors' detractor fixtures come from, and the call they rate, as normalised."""


@dataclass(frozen=True)
class Sample:
    """One fixture delivery and what the router must make of it."""

    name: str
    """The fixture under ``tests/data/<vendor>/``."""
    response_id: str
    """The id ingest keys the delivery by and the router stores it under."""
    holds: Mapping[str, Any]
    """Attribute path on the normalised response (``customer.phone``, ``scores``) -> value.
    A model compares as its ``model_dump()``, scores as ``(kind, value, min, max)`` tuples."""
    field_map: Mapping[str, Any] | None = None
    """The source's field map; ``None`` is the kit's own (the one its pipeline source uses)."""
    delivery_id: str | None = None
    """The vendor's delivery id ingest reads, where the delivery carries one we can predict."""
    label: str | None = None
    """The test id, when one fixture is read under two field maps."""

    @property
    def id(self) -> str:
        """How the sample reads in a test id."""
        return self.label or self.name.removesuffix(".json")


@dataclass(frozen=True)
class Refused:
    """A body (as the router receives it) that does not become a response, and why."""

    body: bytes
    message: str
    label: str

    @property
    def id(self) -> str:
        """How it reads in a test id."""
        return self.label


@dataclass(frozen=True)
class VendorApi:
    """A vendor API the router reads responses from, served locally by a fake."""

    token_env: str
    token: str
    build: Callable[[str], FakeVendorApi]
    """The fake, given the token, with the kit's fixture documents registered."""
    response_path: Callable[[str], str]
    """Where the API serves the response with this id (of the kit's survey)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Further ``api`` settings of the source (timeouts)."""


@dataclass(frozen=True)
class VendorKit:
    """One vendor's side of the contract."""

    vendor: Vendor
    intake: VendorIntake
    secrets: tuple[str, str]
    """The current and the retired secret: a source mid-rotation is configured with both."""
    sign: Callable[[bytes, str], Posted]
    """Sign a payload with a secret the way the vendor documents (``tests/signers.py``)."""
    misencode: Callable[[bytes, str], Posted]
    """The right HMAC with the right secret, in the wrong encoding (hex for base64...)."""
    tamper: Callable[[bytes], bytes]
    """Change a signed body the way an attacker or a re-serialising proxy would."""
    unsigned: Callable[[bytes], Posted]
    """The payload as posted without any signature."""
    no_match: str
    """What the refusal says when no configured secret signed the delivery."""
    missing: str
    """What the refusal says when the delivery carries no signature."""
    detractor: Sample
    """Needs recovery: opens a case through the pipeline."""
    promoter: Sample
    """Needs none: stored without a case."""
    case: Mapping[str, Any]
    """What the detractor's case holds in ``case_summaries``: column, ``column.key`` into a
    JSON column, or ``reason_codes``."""
    content_type: str = "application/json"
    """How ingest parses a signed delivery's body, and the envelope's content type."""
    samples: tuple[Sample, ...] = ()
    """Further fixtures (odd ones, other field maps) and what they normalise to."""
    invalid: tuple[Refused, ...] = ()
    """Bodies the router must dead-letter, with the reason it gives."""
    skipped: tuple[Refused, ...] = ()
    """Bodies that carry no survey response: skipped, neither stored nor dead-lettered."""
    field_map: Mapping[str, Any] = field(default_factory=dict)
    """The field map of the kit's source, unless a sample names another."""
    api: VendorApi | None = None
    signed_at: Callable[[bytes, str, float], Posted] | None = None
    """For vendors that sign a time: sign as if sent at this epoch second."""
    payload: Callable[[str], bytes] | None = None
    """What the vendor signs for a fixture, when that is not the fixture's bytes."""

    @property
    def name(self) -> str:
        """The vendor's name, for test ids."""
        return self.vendor.value

    @property
    def all_samples(self) -> tuple[Sample, ...]:
        """Every sample: detractor, promoter, then the rest."""
        return (self.detractor, self.promoter, *self.samples)

    def fixture(self, name: str) -> bytes:
        """A fixture's bytes exactly as stored."""
        return (DATA / self.name / name).read_bytes()

    def signed_payload(self, name: str) -> bytes:
        """What the vendor signs when it delivers fixture ``name``."""
        return self.payload(name) if self.payload else self.fixture(name)

    def post(self, name: str, secret: str | None = None) -> Posted:
        """Fixture ``name`` signed with ``secret`` (default: the current one)."""
        return self.sign(self.signed_payload(name), secret or self.secrets[0])

    def source(
        self,
        *secrets: str,
        api_url: str | None = None,
        field_map: Mapping[str, Any] | None = None,
    ) -> SourceConfig:
        """A source of this vendor accepting ``secrets`` (default: the current one)."""
        config: dict[str, Any] = {
            "vendor": self.name,
            "secrets": list(secrets or self.secrets[:1]),
            "field_map": dict(self.field_map if field_map is None else field_map),
        }
        if self.api is not None:
            config["api"] = {
                "base_url": api_url or UNREACHABLE_API,
                "token_env": self.api.token_env,
                **self.api.options,
            }
        return SourceConfig.model_validate(config)


def read_path(value: Any, path: str) -> Any:
    """The value at a dotted attribute path, in the form ``Sample.holds`` compares."""
    for part in path.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    if isinstance(value, list) and value and all(isinstance(item, Score) for item in value):
        return [(s.kind.value, s.value, s.scale_min, s.scale_max) for s in value]
    if isinstance(value, BaseModel):
        return value.model_dump()
    return value
