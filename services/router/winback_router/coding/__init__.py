"""Reason coding: which dissatisfaction reasons a response carries, each with its evidence.

``code_response`` is the entry point; everything here is pure and deterministic so that
re-coding history replays exactly.
"""

from winback_router.coding.coder import (
    Coding,
    Overruled,
    code_chosen_reasons,
    code_response,
    code_responses,
    code_responses_in_full,
    code_text,
)

__all__ = [
    "Coding",
    "Overruled",
    "code_chosen_reasons",
    "code_response",
    "code_responses",
    "code_responses_in_full",
    "code_text",
]
