// Marking each reason's words inside the comment: stored spans (code points, as the router
// counts), the quote looked up when there is no span, overlaps, and what cannot be found.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  fold, locateEvidence, segments,
} from "../../services/notifier/winback_notifier/static/evidence.js";

const marked = (text, mark) => text.slice(mark.start, mark.end);

test("two reasons on one comment each mark their own words", () => {
  const comment = "Charged twice for my plan. Then 45 min on hold!";
  const reasons = [
    { code: "billing_error", evidence: "Charged twice for my plan.", evidence_source: "comment",
      span: [0, 13] },
    { code: "long_wait", evidence: "Then 45 min on hold!", evidence_source: "comment",
      span: [39, 46] },
  ];
  const { text, marks, placed } = locateEvidence(comment, reasons);
  assert.deepEqual(placed, [true, true]);
  assert.deepEqual(marks.map((mark) => marked(text, mark)), ["Charged twice", "on hold"]);
  const pieces = segments(text, marks);
  assert.equal(pieces.map((piece) => piece.text).join(""), comment);
  assert.deepEqual(pieces.filter((piece) => piece.reasons.length).map((piece) =>
    [piece.text, piece.reasons, piece.ends]), [["Charged twice", [0], [0]], ["on hold", [1], [1]]]);
});

test("overlapping marks split into pieces that name every reason covering them", () => {
  const text = "the agent was rude and slow";
  const pieces = segments(text, [
    { reason: 0, start: 4, end: 18 }, // "agent was rude"
    { reason: 1, start: 14, end: 27 }, // "rude and slow"
  ]);
  assert.deepEqual(pieces.map((piece) => [piece.text, piece.reasons, piece.ends]), [
    ["the ", [], []],
    ["agent was ", [0], []],
    ["rude", [0, 1], [0]],
    [" and slow", [1], [1]],
  ]);
  // The same words carried by two reasons: one piece, both reasons, both end there.
  assert.deepEqual(segments("rude", [{ reason: 1, start: 0, end: 4 },
    { reason: 0, start: 0, end: 4 }]), [{ text: "rude", reasons: [0, 1], ends: [0, 1] }]);
});

test("spans count code points, so an emoji before the words does not shift the mark", () => {
  const comment = "😡😡 Später Rückruf versprochen, nie passiert";
  // What Python reports for "Rückruf": code points 10..17 (the emoji are one each there).
  const { text, marks } = locateEvidence(comment, [
    { evidence: comment, evidence_source: "comment", span: [10, 17] },
  ]);
  assert.equal(marked(text, marks[0]), "Rückruf");
});

test("a span that disagrees with its quote is not trusted; the quote is looked up instead", () => {
  const comment = "Nobody called back. The bill was wrong.";
  const { text, marks, placed } = locateEvidence(comment, [
    { evidence: "The bill was wrong.", evidence_source: "comment", span: [0, 6] },
  ]);
  assert.deepEqual(placed, [true]);
  assert.equal(marked(text, marks[0]), "The bill was wrong.");
  // Out of range: looked up too.
  assert.equal(marked(text, locateEvidence(comment, [
    { evidence: "called back", evidence_source: "comment", span: [100, 120] },
  ]).marks[0]), "called back");
});

test("without a span the quote is found ignoring case, accents and white space", () => {
  const comment = "Le TECHNICIEN   n'est jamais venu.\nTrès déçu.";
  const { text, marks } = locateEvidence(comment, [
    { evidence: "technicien n'est jamais", evidence_source: "comment" },
    { evidence: "tres decu", evidence_source: "comment" },
  ]);
  assert.deepEqual(marks.map((mark) => marked(text, mark)),
    ["TECHNICIEN   n'est jamais", "Très déçu"]);
});

test("a cut quote (…) is found by the words it kept", () => {
  const comment = "I waited and waited, forty minutes on the phone, and then it dropped.";
  const { text, marks } = locateEvidence(comment, [
    { evidence: "…forty minutes on the phone, and then…", evidence_source: "comment" },
  ]);
  assert.equal(marked(text, marks[0]), "forty minutes on the phone, and then");
});

test("special characters are matched literally, never as a pattern", () => {
  const comment = "Price went from $9.99 (promo) to $19.99?! [why] <b>\\d+</b>";
  const { text, marks } = locateEvidence(comment, [
    { evidence: "$9.99 (promo) to $19.99?!", evidence_source: "comment" },
    { evidence: "<b>\\d+</b>", evidence_source: "comment" },
    { evidence: "9.99 (promo) to $1.", evidence_source: "comment" }, // "." is no wildcard
  ]);
  assert.deepEqual(marks.map((mark) => marked(text, mark)),
    ["$9.99 (promo) to $19.99?!", "<b>\\d+</b>"]);
});

test("what cannot be found, chosen answers and empty comments stay unplaced", () => {
  const reasons = [
    { evidence: "rude staff", evidence_source: "comment" },
    { evidence: "Long hold or wait", evidence_source: "answer" },
    { evidence: "", evidence_source: "comment", span: [0, 3] },
    { evidence: "The", evidence_source: "comment" },
  ];
  const found = locateEvidence("The line kept dropping.", reasons);
  assert.deepEqual(found.placed, [false, false, false, true]);
  assert.deepEqual(found.marks, [{ reason: 3, start: 0, end: 3 }]);
  assert.deepEqual(locateEvidence(null, reasons).placed, [false, false, false, false]);
  assert.deepEqual(segments("", []), []);
});

test("a comment in decomposed form is shown and marked in NFC", () => {
  const comment = "Cafe\u0301 closed early";
  const { text, marks } = locateEvidence(comment, [
    { evidence: "Café closed", evidence_source: "comment", span: [0, 11] },
  ]);
  assert.equal(text, "Café closed early");
  assert.equal(marked(text, marks[0]), "Café closed");
});

test("folding keeps a map back to the original units", () => {
  const { folded, starts, ends } = fold("Ä  b");
  assert.equal(folded, "a b");
  assert.deepEqual([starts, ends], [[0, 1, 3], [1, 2, 4]]);
});
