"""Phrasings added on December 3 from the out-of-sample misses of ``independent-train-8``
(repeat contacts told as a count, a list of weekdays or a chase that has lasted; a fault named
in the languages the files written apart use), and the neighbours they must leave alone."""

from __future__ import annotations

import pytest

from tests.coding_support import rule_codes


@pytest.mark.parametrize(
    ("comment", "code"),
    [
        ("Left three voicemails over a fortnight.", "repeat_contact"),
        ("Quatre appels en deux semaines, toujours rien.", "repeat_contact"),
        ("Zwei Anrufe und keine Lösung.", "repeat_contact"),
        ("Dzwoniłam trzy razy w tej sprawie.", "repeat_contact"),
        ("Ho sollecitato tre volte, nessuna risposta.", "repeat_contact"),
        ("Rang mon, rang wed, rang fri and still no engineer booked.", "repeat_contact"),
        ("Chat on Monday, email Wednesday, phone Friday.", "repeat_contact"),
        ("Still chasing the credit note from February.", "repeat_contact"),
        ("After eight weeks of chasing I have nothing.", "repeat_contact"),
        ("Every week I end up ringing them about the same bin.", "repeat_contact"),
        ("I reported the same streetlight in January and in April.", "repeat_contact"),
        ("I wrote once more in March and yet again in May.", "repeat_contact"),
        ("Each call landed with a different team.", "repeat_contact"),
        ("Llevo tres semanas esperando por la misma avería.", "product_defect"),
        ("Il frigorifero è guasto da una settimana.", "product_defect"),
        ("Quatre appels pour la même panne de box.", "product_defect"),
        ("Ik bel over dezelfde storing.", "product_defect"),
        ("Jag har ringt om samma trasiga diskmaskin.", "product_defect"),
        ("Zgłaszałam awarię pralki w maju.", "product_defect"),
        ("Aplikacja się zawiesza przy każdej płatności.", "product_defect"),
        ("Le décodeur ne marche plus depuis lundi.", "product_defect"),
    ],
)
def test_a_phrasing_from_the_out_of_sample_misses_is_found(comment: str, code: str) -> None:
    assert code in rule_codes(comment)


@pytest.mark.parametrize(
    ("comment", "code"),
    [
        # e-mails counted are mostly labelled a slow response alone in the files written apart
        ("I sent three emails and none was answered.", "repeat_contact"),
        ("J'ai envoyé trois mails, aucune réponse.", "repeat_contact"),
        ("Sent my documents by post twice and both times they never arrived.", "repeat_contact"),
        ("I had to spell my surname every single call.", "repeat_contact"),
        ("Every call is recorded, they said.", "repeat_contact"),
        ("I got three voicemails from a salesman.", "repeat_contact"),
        ("They are storing my data without asking.", "product_defect"),
        ("The chasing letters from the bailiffs upset my mother.", "repeat_contact"),
    ],
)
def test_a_december_3_rule_stays_out_of_its_neighbours(comment: str, code: str) -> None:
    assert code not in rule_codes(comment)
