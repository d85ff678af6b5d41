"""Follow-up requests written in the comment: "please call me back", "rappelez-moi".

A customer who asks, in words, to be contacted must get a case and the agent must see that they
asked, whatever the survey's structured "may we contact you?" field says. This is not a
dissatisfaction reason: it is coded as ``asks_contact`` (``winback_shared.taxonomy.ASKS_CONTACT``)
beside the reasons, with the sentence that asked as evidence, and
:func:`winback_router.decision.decide` treats it as a follow-up request.

The phrases are patterns over folded words (lower case, no accents, "don't" read "do not"), one
sentence at a time, in English, French, Spanish, German, Portuguese, Italian and Dutch. What is
*not* a request: a negation ("no need to call me", "please don't contact me") and reported
speech about a promise ("they said they would call me back", "nobody called me back"): that is
a broken promise, which the taxonomy codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from winback_router.coding.rules import FoldedText

_CONTACT_VERB = (
    r"(?:call|ring|phone|contact|email|e mail|text|message|reach|get back to|reach out to|"
    r"get hold of|get a hold of)"
)
_GIVE_A_CALL = r"give (?:me|us) a (?:call|ring|bell|buzz|phone call|callback|call back)"
_SOMEONE = r"(?:someone|somebody|anyone|anybody|a manager|a supervisor|a person|a human|you|they)"

_PATTERNS = (
    # English: imperatives, wishes and questions addressed to the company
    rf"(?:please |pls |plz |kindly |just )?{_CONTACT_VERB} (?:me|us)(?: back)?"
    r"(?! (?:form|page|button|link|section|option|tab))",
    _GIVE_A_CALL,
    r"(?:please |pls |kindly )(?:call|ring|phone|contact|email|text)\b",
    r"(?:can|could|will|would|may) (?:\w+ ){1,3}(?:please )?(?:call|ring|phone|contact|"
    rf"get back to|reach out to|get in touch with) (?:me|us)|(?:can|could|will|would|may) "
    rf"(?:\w+ ){{1,3}}(?:please )?{_GIVE_A_CALL}",
    r"(?:i |we )?(?:want|would like|d like|need|expect|demand|wish|request|am asking for|"
    r"am requesting|require|would appreciate|d appreciate)(?: \w+){0,2} (?:a call|"
    r"a callback|a call back|a phone call|a ring|to be called|to be contacted|a reply|"
    r"to speak|to talk|to hear from)(?! (?:option|button|form|feature|link|page))",
    r"(?:i|we) (?:want|would like|d like|need|expect|demand|wish) (?:\w+ ){1,4}to "
    r"(?:call|ring|phone|contact|get in touch|get back to (?:me|us)|get hold of|"
    r"give (?:me|us) a)",
    r"(?:i|we) (?:want|would like|d like|need|demand) (?:to )?(?:speak|talk) (?:to|with) "
    r"(?:a |your |the )?(?:manager|supervisor|someone|somebody|a human|a person|a real person)",
    r"get in touch(?: with me| with us)?(?: asap| please| urgently| as soon as)",
    r"(?:please |kindly )get in touch",
    r"(?:i am|im|i will be|we are|still) (?:waiting|awaiting) (?:for )?(?:a|your) "
    r"(?:call|callback|call back|phone call)",
    r"(?:call|callback|call back|phone call) (?:me )?(?:please|asap|requested|needed)",
    r"(?:my number is|my phone number is|here is my number|leaving my number|"
    r"reach me (?:on|at)|you can reach me)",
    # French
    r"(?:rappelez|recontactez|contactez|appelez) moi",
    r"(?:merci de|veuillez|pouvez vous|pourriez vous|svp) (?:me )?(?:rappeler|recontacter|"
    r"contacter|appeler)",
    r"(?:je veux|je voudrais|j aimerais|je souhaite|je demande) (?:etre rappele|"
    r"etre recontacte|etre contacte|parler a|un rappel|qu on me rappelle|"
    r"qu on me recontacte|a etre rappele)",
    r"qu on me (?:rappelle|recontacte|contacte|telephone)",
    # Spanish
    r"(?:llamenme|llameme|contactenme|contacteme|que me llamen|que me contacten|"
    r"devuelvan (?:la|mi) llamada|me pueden llamar|pueden llamarme|llamarme por favor)",
    r"(?:quiero|quisiera|me gustaria) (?:hablar con|que me llamen|que me contacten|"
    r"una llamada)",
    r"que (?:alguien |ustedes )?me (?:llame|llamen|contacte|contacten)",
    # German
    r"(?:rufen sie mich|ruft mich|melden sie sich|kontaktieren sie mich|bitte um ruckruf|"
    r"bitte um einen ruckruf|ich bitte um ruckruf|ich mochte (?:mit|einen ruckruf)|"
    r"ich will mit|bitte zuruckrufen|rufen sie bitte zuruck)",
    # Portuguese
    r"(?:me liguem|liguem me|me ligue|ligue me|entrem em contato|entre em contato comigo|"
    r"quero falar com|gostaria de falar com|gostaria que me ligassem|aguardo (?:o seu |um )?"
    r"(?:contato|retorno|contacto))",
    # Italian
    r"(?:richiamatemi|chiamatemi|contattatemi|mi richiami|mi richiamate|mi contatti|"
    r"vorrei parlare con|vorrei essere (?:richiamato|contattato|richiamata|contattata)|"
    r"attendo (?:una|la vostra) (?:chiamata|telefonata))",
    # Dutch
    r"(?:bel me terug|bel mij terug|bel me|bel mij|neem contact (?:met mij |met me )?op|"
    r"wil (?:graag )?teruggebeld worden|graag teruggebeld|ik wil (?:graag )?(?:iemand|een "
    r"manager|een leidinggevende) spreken)",
)
REQUESTS = tuple(re.compile(rf"(?<= )(?:{pattern})(?= )") for pattern in _PATTERNS)

NEGATED = re.compile(
    r" (?:not|no need|no reason|no point|never|nicht|kein|keine|pas|nao|non|niet|geen|ne)"
    r"(?: \w+){0,2} $| no $"
)
"""Words just before a request that cancel it ("no need to call me", "do not contact me")."""

REPORTED = re.compile(
    r" (?:promised|promise|said|says|told me|supposed|was going|were going|nobody|no one|"
    r"never|meant|agreed|claimed|instead of|(?:they|he|she|someone|somebody|you|agent) "
    r"(?:would|will|d|should))(?: \w+){0,3} $"
)
"""Words just before that make it a report of someone else's promise, not a request now."""


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """Where a comment asks to be contacted: the span of the asking words in the comment."""

    start: int
    end: int
    pattern: int


def find_contact_request(folded: FoldedText) -> ContactRequest | None:
    """The first place the comment asks to be contacted, or None."""
    words = folded.words
    for number, pattern in enumerate(REQUESTS, start=1):
        for match in pattern.finditer(folded.padded):
            first = folded.word_at(match.start())
            before = _sentence_before(folded, first)
            if NEGATED.search(before) or REPORTED.search(before):
                continue
            last = folded.word_at(match.end() - 1)
            return ContactRequest(words[first].start, words[last].end, number)
    return None


def _sentence_before(folded: FoldedText, first: int) -> str:
    """The folded words of the same sentence before ``words[first]``, with a trailing space."""
    words = folded.words
    sentence = words[first].sentence
    start = first
    while start > 0 and words[start - 1].sentence == sentence:
        start -= 1
    return " " + "".join(word.text + " " for word in words[start:first])
