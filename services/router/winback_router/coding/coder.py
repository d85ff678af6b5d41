"""Coding a whole response: chosen answers first, then the comment (rules, then the learned
model), then ``unclassified``.

A pure function of the response and the taxonomy (no clock, no I/O, no randomness), so replaying
history with the same taxonomy gives the same codes, and a changed taxonomy changes only what it
should.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from winback_router.coding.blas_threads import one_blas_thread
from winback_router.coding.compiler import _PerTaxonomy, compiled_rules, reason_model
from winback_router.coding.embeddings import Vectors, embed
from winback_router.coding.evidence import MAX_QUOTE, excerpt, sentence_around
from winback_router.coding.follow_up import find_contact_request
from winback_router.coding.learned import ReasonModel, Vector
from winback_router.coding.rules import FoldedText, Hit, find_hits
from winback_router.coding.sentence_pool import sentence_spans
from winback_router.coding.strongest_sentence import strongest_sentences
from winback_router.coding.tfidf_vote import TfidfRow
from winback_shared.events.recovery_alerts import CodedReason, SimilarComment
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import (
    ASKS_CONTACT,
    ASKS_CONTACT_LABEL,
    UNCLASSIFIED,
    UNCLASSIFIED_LABEL,
    Taxonomy,
)

RULE_CONFIDENCE = 0.85
"""Confidence of a code found by one rule; each further distinct rule leaves 15 % of the doubt."""

FILLER = frozenset(
    {"n", "a", "na", "none", "nothing", "nil", "no", "comment", "comments", "nope", "x", "nada"}
)
"""Comments made only of these words say nothing, so they are not a taxonomy blind spot."""


@dataclass(frozen=True, slots=True)
class TextCode:
    """A code found in a text, with the rules that found it (earliest in the text first)."""

    code: str
    hits: tuple[Hit, ...]

    @property
    def confidence(self) -> float:
        """Higher when several distinct rules agree."""
        return round(1 - (1 - RULE_CONFIDENCE) ** len(self.hits), 3)


@dataclass(frozen=True, slots=True)
class _Codes:
    """Each code's label and, for a code no boost names, its weight at any moment: what every
    reason quotes, read from plain dictionaries (``Taxonomy.by_id`` goes through pydantic's
    private-attribute lookup, several microseconds a call, two calls a reason)."""

    labels: dict[str, str]
    weights: dict[str, float]

    @classmethod
    def of(cls, taxonomy: Taxonomy) -> _Codes:
        boosted = {boost.code for boost in taxonomy.boosts}
        return cls(
            {code.id: code.label for code in taxonomy.codes},
            {code.id: code.weight for code in taxonomy.codes if code.id not in boosted},
        )

    def weight_at(self, taxonomy: Taxonomy, code: str, moment: datetime) -> float:
        """``taxonomy.weight_at(code, moment)``: the plain weight unless a boost names it."""
        weight = self.weights.get(code)
        return taxonomy.weight_at(code, moment) if weight is None else weight


_codes: _PerTaxonomy[_Codes] = _PerTaxonomy()


def _codes_of(taxonomy: Taxonomy) -> _Codes:
    codes = _codes.get(taxonomy)
    if codes is None:
        codes = _Codes.of(taxonomy)
        _codes.put(taxonomy, codes)
    return codes


def code_text(text: str | FoldedText, taxonomy: Taxonomy) -> list[TextCode]:
    """Every code whose rules fire in ``text``, in the order of their first words in it."""
    folded = text if isinstance(text, FoldedText) else FoldedText.of(text)
    by_code: dict[str, list[Hit]] = {}
    for hit in find_hits(folded, compiled_rules(taxonomy)):
        by_code.setdefault(hit.rule.code, []).append(hit)
    return [TextCode(code, tuple(hits)) for code, hits in by_code.items()]


def has_content(folded: FoldedText) -> bool:
    """Whether a comment says anything at all ("n/a" and "-" do not)."""
    return any(word.text not in FILLER for word in folded.words)


def code_response(response: SurveyResponse, taxonomy: Taxonomy) -> list[CodedReason]:
    """The reasons a response carries, each with its evidence, in the order found.

    Chosen answers match codes through labels and synonyms; an answer that matches none is read
    with the free-text rules, and kept as ``unclassified`` if they find nothing either. The
    comment is read with the rules, then the learned model may add codes, and remove a code of
    the comment's rules where it is confident the rule misread it (see :class:`Overruled`); a
    comment with content left with no code adds ``unclassified`` too. A code found twice keeps
    its first evidence: the chosen answer. A comment that asks to be contacted adds
    ``asks_contact`` last, with the words that asked.
    """
    return code_responses([response], taxonomy)[0]


@dataclass(frozen=True, slots=True)
class Overruled:
    """A code the comment's rules found and the learned model removed: the reason as the rule
    would have given it, and the model's probability for the code, under its floor."""

    reason: CodedReason
    probability: float


@dataclass(frozen=True, slots=True)
class Coding:
    """A response's reasons, and the rules' codes the model overruled (never among the
    reasons, so never shown as evidence; kept so a case's history can say why a rule's words
    did not give their code)."""

    reasons: list[CodedReason]
    overruled: list[Overruled]


def code_responses(
    responses: Sequence[SurveyResponse], taxonomy: Taxonomy
) -> list[list[CodedReason]]:
    """:func:`code_responses_in_full`'s reasons alone."""
    return [coding.reasons for coding in code_responses_in_full(responses, taxonomy)]


def code_responses_in_full(responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> list[Coding]:
    """:func:`code_response` for each response, with the model's sentence vectors computed in
    one encoder call for the lot (plus one for the sentences of the comments it coded), and only
    for the comments whose codes the vector could change (see
    :meth:`~winback_router.coding.learned.ReasonModel.vector_matters`): same codes as one by
    one, at a fraction of the cost. (Not bit for bit: the encoder sums a batch in another order,
    so a vector moves by up to 2e-7, which can flip a confidence's or similarity's third decimal,
    or a probability sitting on a threshold, when it lies on that edge: rare, and a re-coding
    then reports that response as changed.) The caller decides where this runs; a router runs
    it off its event loop."""
    model = reason_model(taxonomy)
    if model is None or not model.reads_vectors:
        return _code_all(responses, taxonomy, model)
    with one_blas_thread():  # the vote's products: see blas_threads
        return _code_all(responses, taxonomy, model)


def _code_all(
    responses: Sequence[SurveyResponse], taxonomy: Taxonomy, model: ReasonModel | None
) -> list[Coding]:
    drafts = [_draft(response, taxonomy) for response in responses]
    if model is not None:
        _read_comments(model, drafts)
        _apply_model(model, drafts, taxonomy)
        _score_sentences(model, drafts)
    return [_finish(draft, taxonomy, model) for draft in drafts]


@dataclass
class _Draft:
    """A response coded as far as the rules go; the model's codes come batch-wide."""

    response: SurveyResponse
    coded: dict[str, CodedReason]
    """Chosen answers' and the comment rules' reasons, in the order found."""
    unmatched_answers: list[str]
    comment: str
    folded: FoldedText
    rule_codes: frozenset[str]
    logits: Vector | None
    """The model's TF-IDF logits; None when the model does not read this comment."""
    row: TfidfRow | None = None
    """The comment's TF-IDF row, kept where the model's vote reads it (the words' vote)."""
    vector: Vector | None = None
    model_codes: dict[str, float] = field(default_factory=dict)
    removed: dict[str, float] = field(default_factory=dict)
    """Rule codes of the comment the model removes, with its probability for each."""
    sentences: list[tuple[int, int]] = field(default_factory=list)
    sentence_vectors: Vectors | None = None
    sentence_rows: list[TfidfRow] | None = None
    """Each sentence's TF-IDF row, where the model quotes one of several sentences."""
    sentence_logits: list[Vector] | None = None
    """Each sentence's TF-IDF logits, likewise."""


def _draft(response: SurveyResponse, taxonomy: Taxonomy) -> _Draft:
    moment = response.received_at
    codes = _codes_of(taxonomy)
    coded: dict[str, CodedReason] = {}
    # A code found twice keeps its first reason: a later one is not even built.
    unmatched_answers: list[str] = []
    for answer in response.reasons:
        code = taxonomy.match_label(answer)
        if code is not None:
            if code.id not in coded:
                coded[code.id] = CodedReason(
                    code=code.id,
                    label=code.label,
                    evidence=answer,
                    method="chosen_answer",
                    confidence=1.0,
                    evidence_source="answer",
                    rule="synonym",
                    weight=codes.weight_at(taxonomy, code.id, moment),
                )
            continue
        found = code_text(answer, taxonomy)
        if not found:
            unmatched_answers.append(answer)
        for text_code in found:
            if text_code.code not in coded:
                coded[text_code.code] = _from_text(
                    text_code, answer, "answer", "chosen_answer", taxonomy, codes, moment
                )
    comment = unicodedata.normalize("NFC", response.comment or "")
    folded = FoldedText.of(comment)
    comment_codes = code_text(folded, taxonomy)
    for text_code in comment_codes:
        if text_code.code not in coded:
            coded[text_code.code] = _from_text(
                text_code, comment, "comment", "rule", taxonomy, codes, moment
            )
    return _Draft(
        response,
        coded,
        unmatched_answers,
        comment,
        folded,
        frozenset(text_code.code for text_code in comment_codes),
        None,
    )


def _read_comments(model: ReasonModel, drafts: Sequence[_Draft]) -> None:
    """The model's TF-IDF logits (and rows, where its vote reads them) of every comment with
    content, featurised and weighted as one batch."""
    read = [draft for draft in drafts if has_content(draft.folded)]
    comments = [draft.comment for draft in read]
    rows = model.tfidf_row_each(comments)
    logits = model.text_logits_each(comments, rows)
    for draft, row, found in zip(read, rows, logits, strict=True):
        draft.logits = found
        draft.row = row if model.reads_words_vote else None


def _score_sentences(model: ReasonModel, drafts: Sequence[_Draft]) -> None:
    """The TF-IDF rows and logits of every sentence the model's codes may quote (those of
    comments of several sentences it added a code to), as one batch for all the drafts."""
    quoting = [d for d in drafts if d.model_codes and len(d.sentences) > 1]
    texts = [d.comment[start:end] for d in quoting for start, end in d.sentences]
    rows = model.tfidf_row_each(texts)
    logits = model.text_logits_each(texts, rows)
    first = 0
    for draft in quoting:
        last = first + len(draft.sentences)
        draft.sentence_rows, draft.sentence_logits = rows[first:last], logits[first:last]
        first = last


def _apply_model(model: ReasonModel, drafts: Sequence[_Draft], taxonomy: Taxonomy) -> None:
    """The model's codes for every draft it reads, and the sentence scores behind them."""
    read = [draft for draft in drafts if draft.logits is not None]
    if model.reads_vectors:
        read = [
            d for d in read if d.logits is not None and model.vector_matters(d.logits, d.rule_codes)
        ]
        for draft, vector in zip(read, embed([d.comment for d in read]), strict=True):
            draft.vector = vector
    if model.reads_sentences:
        for draft in read:
            draft.sentences = sentence_spans(draft.folded)
        _embed_sentences(read)
    known = {code.id for code in taxonomy.codes}
    vectors = [d.vector for d in read if d.vector is not None]
    ranges = (
        model.vote_ranges(np.array(vectors)) if len(vectors) == len(read) else [None] * len(read)
    )
    for draft, votes in zip(read, ranges, strict=True):
        regression, vector = model.regression(
            draft.comment,
            draft.vector,
            logits=draft.logits,
            sentence_vectors=draft.sentence_vectors,
        )
        probabilities = model.decided(draft.rule_codes, regression, vector, votes, row=draft.row)
        if probabilities is None:
            continue  # no vote could add or remove a code: none computed
        found = model.codes_added(draft.rule_codes, probabilities)
        draft.model_codes = {code: p for code, p in found.items() if code in known}
        draft.removed = model.codes_against(draft.rule_codes, probabilities)
        if draft.model_codes and not draft.sentences:
            draft.sentences = sentence_spans(draft.folded)
    if model.reads_vectors and not model.reads_sentences:
        _embed_sentences([d for d in read if len(d.sentences) > 1])


def _embed_sentences(drafts: Sequence[_Draft]) -> None:
    """Each draft's sentence vectors (of :attr:`_Draft.sentences`), in one encoder call."""
    texts = [d.comment[start:end] for d in drafts for start, end in d.sentences]
    vectors = embed(texts)
    first = 0
    for draft in drafts:
        draft.sentence_vectors = vectors[first : first + len(draft.sentences)]
        first += len(draft.sentences)


def _finish(draft: _Draft, taxonomy: Taxonomy, model: ReasonModel | None) -> Coding:
    coded = draft.coded
    overruled = [
        Overruled(coded.pop(code), probability)
        for code, probability in draft.removed.items()
        if coded[code].method == "rule"  # a chosen answer is never overruled
    ]
    model_codes = _from_model(draft, model, taxonomy) if model and draft.model_codes else []
    for reason in model_codes:
        coded.setdefault(reason.code, reason)
    comment = draft.comment
    kept_rule_codes = draft.rule_codes - {removal.reason.code for removal in overruled}
    if draft.unmatched_answers:
        coded.setdefault(UNCLASSIFIED, _unclassified(draft.unmatched_answers[0], "answer"))
    elif not kept_rule_codes and not model_codes and has_content(draft.folded):
        coded.setdefault(UNCLASSIFIED, _unclassified(excerpt(comment), "comment"))
    asked = find_contact_request(draft.folded)
    if asked is not None:
        coded.setdefault(
            ASKS_CONTACT,
            CodedReason(
                code=ASKS_CONTACT,
                label=ASKS_CONTACT_LABEL,
                evidence=sentence_around(comment, asked.start, asked.end),
                method="rule",
                confidence=RULE_CONFIDENCE,
                evidence_source="comment",
                rule=f"follow_up#{asked.pattern}",
                span=(asked.start, asked.end),
                weight=0.0,
            ),
        )
    return Coding(list(coded.values()), overruled)


def code_chosen_reasons(response: SurveyResponse, taxonomy: Taxonomy) -> list[CodedReason]:
    """Only the chosen answers, as before free-text coding existed; kept for callers that
    must ignore comments."""
    return code_response(response.model_copy(update={"comment": None}), taxonomy)


def _from_text(
    found: TextCode,
    text: str,
    source: str,
    method: str,
    taxonomy: Taxonomy,
    codes: _Codes,
    moment: datetime,
) -> CodedReason:
    first = found.hits[0]
    quote = text.strip() if source == "answer" else sentence_around(text, first.start, first.end)
    return CodedReason(
        code=found.code,
        label=codes.labels[found.code],
        evidence=quote,
        method=method,
        confidence=found.confidence,
        evidence_source="answer" if source == "answer" else "comment",
        rule=first.rule.name,
        span=(first.start, first.end) if source == "comment" else None,
        weight=codes.weight_at(taxonomy, found.code, moment),
    )


def _from_model(draft: _Draft, model: ReasonModel, taxonomy: Taxonomy) -> list[CodedReason]:
    """The model's codes beyond the rules', most probable first, each quoting the sentence of
    the comment that scores highest for it, so an agent sees which words carried it, and
    naming the labelled comments nearest to this one, so they can judge it."""
    comment, spans = draft.comment, draft.sentences
    ranked = sorted(draft.model_codes.items(), key=lambda item: -item[1])
    strongest = strongest_sentences(
        model,
        comment,
        spans,
        draft.sentence_vectors,
        [model.codes.index(code) for code, _ in ranked],
        rows=draft.sentence_rows,
        logits=draft.sentence_logits,
    )
    similar = None
    if model.neighbours is not None and draft.vector is not None:
        similar = [
            SimilarComment(text=n.text, codes=list(n.codes), similarity=n.similarity)
            for n in model.neighbours.nearest(draft.vector)
        ]
    codes = _codes_of(taxonomy)
    reasons = []
    for (code, probability), best in zip(ranked, strongest, strict=True):
        start, end = spans[best]
        quote = sentence_around(comment, start, end)
        reasons.append(
            CodedReason(
                code=code,
                label=codes.labels[code],
                evidence=quote if len(quote) <= MAX_QUOTE else excerpt(quote),
                method="model",
                confidence=round(probability, 3),
                evidence_source="comment",
                rule=f"model:{code}",
                span=(start, end),
                weight=codes.weight_at(taxonomy, code, draft.response.received_at),
                similar=similar,
            )
        )
    return reasons


def _unclassified(evidence: str, source: str) -> CodedReason:
    return CodedReason(
        code=UNCLASSIFIED,
        label=UNCLASSIFIED_LABEL,
        evidence=evidence,
        method="no_match",
        confidence=0.0,
        evidence_source="answer" if source == "answer" else "comment",
    )
