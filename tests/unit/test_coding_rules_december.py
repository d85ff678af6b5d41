"""Phrasings added on December 1 (second round) from the training files' misses, the narrowing
that came with them, and the threshold choice that prefers a plateau to a lone peak."""

from __future__ import annotations

import numpy as np
import pytest

from tests.coding_support import rule_codes
from winback_router.coding.train import GRID, choose_thresholds, smoothed


@pytest.mark.parametrize(
    ("comment", "code"),
    [
        ("Called on Tuesday. Called again on Friday. Still no engineer.", "repeat_contact"),
        ("This is my ninth call about one meter.", "repeat_contact"),
        ("Chasing the refund for the third week running.", "repeat_contact"),
        ("Every month I have to ring to get the bill put right.", "repeat_contact"),
        ("I've been to the post office four times for one parcel.", "repeat_contact"),
        ("The adviser told me the plan included roaming. It does not.", "product_knowledge"),
        ("One agent said I could switch, the next one said I couldn't.", "product_knowledge"),
        ("She knew even less than her colleague.", "product_knowledge"),
        ("Please can someone who actually understands pensions ring me.", "product_knowledge"),
        ("I had to spell my postcode out five times.", "re_explain"),
        ("The new handler asked for the whole story again from the start.", "re_explain"),
        ("Ho dovuto rispiegare tutto.", "re_explain"),
        ("The new dryer packed up after a month.", "product_defect"),
        ("The fridge is not getting cold.", "product_defect"),
        ("Paying for fibre and getting 3 mbps.", "product_defect"),
    ],
)
def test_a_phrasing_from_the_training_files_is_found(comment: str, code: str) -> None:
    assert code in rule_codes(comment)


@pytest.mark.parametrize(
    ("comment", "code"),
    [
        ("They told me the engineer would come on Monday. He did not.", "product_knowledge"),
        ("They said the refund was processed. It wasn't.", "product_knowledge"),
        ("The bot said it was sorry. It is not.", "product_knowledge"),
        ("The virtual assistant does not understand a simple question.", "product_knowledge"),
        ("Sent my payslips twice and they lost both.", "repeat_contact"),
        ("They sent me to the wrong team twice.", "repeat_contact"),
        ("I was on hold so long my phone died.", "product_defect"),
        ("The receptionist snapped at me.", "product_defect"),
    ],
)
def test_a_new_rule_stays_out_of_its_neighbours(comment: str, code: str) -> None:
    assert code not in rule_codes(comment)


def test_smoothing_averages_each_cell_with_its_neighbours() -> None:
    scores = np.zeros((4, 4))
    scores[0, 0] = 9.0
    smooth = smoothed(scores)
    assert smooth[0, 0] == pytest.approx(4.0)  # edges repeat: the corner counts four times
    assert smooth[1, 1] == pytest.approx(1.0)
    assert smooth[3, 3] == 0.0


def test_thresholds_prefer_a_plateau_to_a_lone_peak() -> None:
    """One comment alone makes a peak at a threshold where its neighbours do worse; the
    chooser takes the threshold whose neighbourhood holds up."""
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.3
    probability = np.where(truth, rng.uniform(0.55, 1.0, 400), rng.uniform(0.0, 0.6, 400))
    labels = truth[:, None]
    rules = np.zeros_like(labels)
    chosen = choose_thresholds(labels, probability[:, None], rules)
    assert chosen.shape == (2,)
    assert chosen[0] in GRID and 0.45 <= chosen[0] <= 0.65
