"""Who answered a demo survey: a customer drawn from the response id.

``winback send`` used to post every sample as the same customer, so a demo console held one
name over and over and the ops page grouped everything under it: nothing like real traffic.
Each demo response now gets one of a few hundred made-up customers, picked by a digest of its
response id, so the same id always names the same customer (a re-sent response stays the same
person) and different ids mostly name different ones. Every field of a customer comes from one
index, so the id, email and phone of a customer agree: when two responses draw the same index
they are the same person to customer matching too, as a real repeat would be.

Only documentation contact data: ``example.com`` mail addresses (RFC 2606) and numbers from
Ofcom's range for drama, +44 7700 900000-900999, which are never assigned to anyone.
"""

from __future__ import annotations

import hashlib

FIRST_NAMES = (
    "Dana", "Priya", "Tomasz", "Aisha", "Mateo", "Grace", "Kenji", "Fatima",
    "Liam", "Chloe", "Oluwaseun", "Ingrid", "Rafael", "Mei", "Noah", "Amara",
    "Henrik", "Sofia", "Arjun", "Nadia", "Owen", "Lucia", "Dmitri", "Hana",
)  # fmt: skip
LAST_NAMES = (
    "Whitfield", "Okafor", "Nowak", "Haddad", "Garcia", "Lindqvist", "Tanaka", "Rahman",
    "Murphy", "Dubois", "Adeyemi", "Berg", "Costa", "Chen", "Fischer", "Mensah",
    "Larsen", "Rossi", "Patel", "Kowalczyk", "Evans", "Moreno", "Volkov", "Sato",
)  # fmt: skip
CUSTOMERS = len(FIRST_NAMES) * len(LAST_NAMES)
"""How many different customers the demo draws from (576)."""


def demo_customer(response_id: str) -> dict[str, str]:
    """The generic format's ``customer`` object for this response id (same id, same customer)."""
    digest = hashlib.sha256(response_id.encode()).digest()
    index = int.from_bytes(digest[:8], "big") % CUSTOMERS
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[index // len(FIRST_NAMES)]
    return {
        "id": f"c-{1000 + index}",
        "name": f"{first} {last}",
        "email": f"{first}.{last}@example.com".lower(),
        "phone": f"+44 7700 900{index:03d}",
    }
