"""Whether a rule hit in a comment is denied ("not rude at all", "I was never put on hold").

A hit is denied when a negating word stands at most a few words before it in the same clause,
with no conjunction that starts a new thought in between. Phrases that are complaints about
something missing ("no reply", "nobody called back") carry their negation inside the matched
words, so this check, which only looks before the hit, leaves them alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from winback_shared.folding import Word

WINDOW = 4
"""How many words before a hit a negation may stand and still deny it."""

NEGATORS = frozenset(
    (
        "not no never without nobody noone none neither nor hardly barely nothing zero pas "
        "jamais nunca nie kein keine nessun "
        # what the customer feared before it went well: "worried I'd be passed around but"
        "worried expecting feared dreading"
    ).split()
)
SCOPE_BREAKERS = frozenset(
    (
        "but however although though yet except and so because while whereas then until which "
        "mais pero aber"
    ).split()
)
BOUND_TO_NEXT = frozenset(
    (
        "only just happy satisfied pleased impressed good great ok okay thrilled amused nice "
        "fair sure helpful bad acceptable fun surprised even "
        # "no fewer than five occasions", "pas moins de cinq fois": a count stressed, not denied
        "fewer less moins menos"
    ).split()
)
"""Words that take a preceding negation for themselves: in "not happy with the long wait" the
"not" denies the happiness, not the wait; in "no fewer than five calls" it makes the count
larger."""
PERSON_WORDS = frozenset({"one", "body"})
COPULAS = frozenset({"was", "is", "were", "are", "seemed", "seems", "felt", "got", "ever"})


def is_denied(words: Sequence[Word], first: int) -> bool:
    """Whether the hit starting at ``words[first]`` is negated by what precedes it."""
    clause = words[first].clause
    for index in range(first - 1, max(first - WINDOW, 0) - 1, -1):
        word = words[index]
        if word.clause != clause or word.text in SCOPE_BREAKERS:
            return False
        if word.text in NEGATORS and _negates_what_follows(words, index):
            return True
    return False


def _negates_what_follows(words: Sequence[Word], index: int) -> bool:
    following = words[index + 1].text if index + 1 < len(words) else ""
    if following in BOUND_TO_NEXT:
        return False
    word = words[index].text
    if word in ("nobody", "noone") or (word == "no" and following in PERSON_WORDS):
        # "nobody was rude" denies; "no one answered for 40 minutes" is the complaint itself.
        person = index + 1 if word == "no" else index
        return person + 1 < len(words) and words[person + 1].text in COPULAS
    return True
