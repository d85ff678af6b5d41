"""The demo's customers: ``winback send`` posts each sample as a customer drawn from its
response id (same id, same customer; many ids, many customers), while every other sample keeps
the one customer tests and benchmarks rely on."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_local_runner import info
from winback_local import cli
from winback_local.commands import send
from winback_local.demo_customers import CUSTOMERS, demo_customer
from winback_local.local_http import Answer
from winback_local.signing import SAMPLE_CUSTOMER, sample_response
from winback_shared.standard_webhooks import new_secret
from winback_shared.survey import Customer


def test_the_same_response_id_always_names_the_same_customer() -> None:
    assert demo_customer("demo-1") == demo_customer("demo-1")


def test_another_process_draws_the_same_customer() -> None:
    """A digest, not Python's salted ``hash``: a re-sent response names the same person."""
    code = "import json, sys; from winback_local.demo_customers import demo_customer as d;"
    code += " print(json.dumps(d(sys.argv[1])))"
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, "demo-1"],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out) == demo_customer("demo-1")


def test_many_response_ids_name_many_customers_each_one_consistent() -> None:
    customers = [demo_customer(f"demo-{n}") for n in range(200)]
    names = {customer["name"] for customer in customers}
    assert len(names) > 150, f"only {len(names)} names for 200 responses"
    for customer in customers:
        Customer.model_validate(customer)  # what ingest's generic format accepts
        first, last = customer["name"].split(" ")
        assert customer["email"] == f"{first}.{last}@example.com".lower()
        index = int(customer["id"].removeprefix("c-")) - 1000
        assert 0 <= index < CUSTOMERS
        assert customer["phone"] == f"+44 7700 900{index:03d}"  # Ofcom's drama range
    # One index, one person: the same name always comes with the same id, email and phone.
    by_name = {customer["name"]: customer for customer in customers}
    assert all(by_name[customer["name"]] == customer for customer in customers)


def test_other_samples_keep_the_one_customer() -> None:
    assert sample_response(nps=2, reasons=[])["customer"] == SAMPLE_CUSTOMER
    varied = sample_response(nps=2, reasons=[], varied_customer=True)
    assert varied["customer"] == demo_customer(varied["response_id"])


def test_winback_send_posts_customers_drawn_from_the_response_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stack.json").write_text(json.dumps(dataclasses.asdict(info(secret=new_secret()))))
    posted: list[dict[str, Any]] = []

    def fake_post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
        posted.append(json.loads(body))
        return Answer(202, json.dumps({"receipt_id": "r"}))

    monkeypatch.setattr(send, "post", fake_post)
    for _ in range(12):
        assert cli.main(["send", "--nps", "2", "--no-wait", "--state-dir", str(tmp_path)]) == 0

    assert [p["customer"] for p in posted] == [demo_customer(p["response_id"]) for p in posted]
    assert len({p["customer"]["name"] for p in posted}) > 1
