"""``python -m winback_local.measure coding-worker-death`` runs end to end: the batch with the
killing comment is coded, that one comment alone from its chosen answers (its times are printed,
never asserted)."""

from __future__ import annotations

import pytest

from winback_local import measure, worker_death
from winback_router import coding_process


def test_the_measurement_codes_the_batch_and_loses_only_the_killing_comment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coding_process, "RESTARTS", 0)  # fewer worker starts, the same path
    assert measure.main(["coding-worker-death", "--batch", "3"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("batch of 3 held-out comments, fast model:")
    assert line.endswith("1 coded from its chosen answers alone")


def test_the_held_out_comments_are_repeated_to_fill_a_batch() -> None:
    responses = worker_death.held_out_responses(400)
    assert len({response.receipt_id for response in responses}) == 400
    assert responses[0].comment == responses[344].comment  # 115 + 229 held-out comments
    assert not any(worker_death.KILLER in (response.comment or "") for response in responses)
