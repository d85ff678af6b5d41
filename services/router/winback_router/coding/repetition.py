"""Signs of repetition spread over a comment, as a few features for the learned reason model.

A customer who had to get in touch again and again rarely says "repeat contact": they tell the
story ("Rang Monday. Rang Wednesday. Still nothing."), count ("third time", "five calls") or
say how it goes on ("every week", "yet again"). The TF-IDF block of
:mod:`winback_router.coding.learned` sees each word or word pair alone and the sentence vector
averages the whole comment, so neither sees that two sentences each report a call or that two
different weekdays are named. These cues are counted over the whole comment, across sentence
ends, and the model learns their weight per code like any other feature.

Each cue is 0 or 1; the model multiplies the row by its trained weights, so adding or
changing a cue means re-training (:data:`CUES` is written into the model and checked on
reading).

Measured on December 1 and not used by the shipped models (``train --cue-scale 0``, the
default): nested cross-validation on the 3,103 training comments gave repeat_contact 0.862
without the cues and 0.856 with them, product_defect 0.846 / 0.840, product_knowledge 0.858 /
0.857, and the two training files that had not been learnt from yet did not favour them
either (``docs/coding-model-study.md``). The TF-IDF word pairs and the sentence vector already
carry what these cues say; a model trained with ``--cue-scale 1`` runs them, at a few regex
searches a comment.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from winback_shared.folding import fold

_CONTACT = re.compile(
    r"\b(?:call(?:ed|ing)?|rang|ring(?:ing)?|phon(?:ed|ing)|telephoned|e-?mail(?:ed|ing)?|wrote|"
    r"written|chat(?:ted)?|messag(?:ed|ing)|contact(?:ed|ing)?|visit(?:ed)?|went (?:in|back)|"
    r"came back|chas(?:ed|ing)|follow(?:ed)? up|appel\w*|llam\w*|angerufen|anrufen|gebeld|"
    r"bellen|chiamat\w*|ligue\w*|liguei|ringt|ringde|dzwoni\w*)\b"
)
_WEEKDAY = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi|"
    r"jeudi|vendredi|lunes|martes|miercoles|jueves|viernes|montag|dienstag|mittwoch|donnerstag|"
    r"freitag|maandag|dinsdag|woensdag|donderdag|vrijdag|lunedi|martedi|mercoledi|giovedi|"
    r"venerdi)\b"
)
_ORDINAL = re.compile(
    r"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th)|"
    r"umpteenth|nth|deuxieme|troisieme|quatrieme|segunda|tercera|cuarta|zweiten|dritten|"
    r"vierten|tweede|derde|vierde|seconda|terza|quarta|terceira|quarta)\b"
)
_COUNT = re.compile(
    r"\b(?:(?:\d+|two|three|four|five|six|seven|eight|nine|ten|several|multiple|many|countless|"
    r"numerous|dozens? of|deux|trois|quatre|cinq|dos|tres|cuatro|cinco|zwei|drei|vier|funf|"
    r"twee|drie|vijf|due|tre|quattro|cinque) (?:times|calls|emails|occasions|visits|attempts|"
    r"fois|veces|mal|keer|volte|vezes|gange|ganger|razy|llamadas|appels|anrufe)|twice|thrice)\b"
)
_ONGOING = re.compile(
    r"\b(?:still|yet again|once again|again|over and over|keep having|kept having|"
    r"(?:had|have) to (?:call|ring|chase|email|phone)|every (?:day|week|month|time)|each time|"
    r"(?:weeks|months) later|round in circles|encore|toujours|otra vez|de nuevo|todavia|"
    r"wieder|immer noch|opnieuw|nog steeds|weer|ancora|di nuovo|de novo|ainda|igen|"
    r"fortfarande|znowu|nadal|wciaz)\b"
)
_SENTENCE = re.compile(r"[.!?;\n]+")

CUES = (
    "contact in two sentences",
    "contact in three sentences",
    "two weekdays",
    "an ordinal",
    "a count of times",
    "still or again",
    "still or again twice",
    "an ordinal and a contact",
)
"""The cues in feature order; a model records them and refuses to run with others."""

Cues = npt.NDArray[np.float32]


def repetition_cues(text: str) -> Cues:
    """The comment's cues, in :data:`CUES` order, each 0 or 1."""
    folded = fold(text)
    sentences = [part for part in _SENTENCE.split(folded) if part.strip()]
    contacts = sum(1 for sentence in sentences if _CONTACT.search(sentence))
    ordinal = _ORDINAL.search(folded) is not None
    ongoing = len(_ONGOING.findall(folded))
    return np.array(
        [
            contacts >= 2,
            contacts >= 3,
            len(set(_WEEKDAY.findall(folded))) >= 2,
            ordinal,
            _COUNT.search(folded) is not None,
            ongoing >= 1,
            ongoing >= 2,
            ordinal and contacts >= 1,
        ],
        dtype=np.float32,
    )
