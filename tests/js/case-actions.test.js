// What the "reasons right / wrong" control starts from: the router's coding as a label, in the
// words the review API takes (taxonomy codes, and whether the customer asked to be contacted).

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  codedLabel, initialRootCause, resolveMissing,
} from "../../services/notifier/winback_notifier/static/case-actions.js";
import { HELLO, card } from "./support.js";

const reason = (code) => ({ code, label: code, evidence: "", method: "rules" });

test("the coded label keeps taxonomy codes once and leaves the router's own codes out", () => {
  const coded = card(1, {
    reasons: [reason("long_wait"), reason("unclassified"), reason("long_wait"), reason("rude")],
    follow_up_requested: false,
  });
  assert.deepEqual(codedLabel(coded), { codes: ["long_wait", "rude"], follow_up_requested: false });
});

test("a follow-up request is the survey's field or asks_contact coded from the comment", () => {
  assert.equal(codedLabel(card(1, { reasons: [], follow_up_requested: true }))
    .follow_up_requested, true);
  const asked = card(1, { reasons: [reason("asks_contact")], follow_up_requested: false });
  assert.deepEqual(codedLabel(asked), { codes: [], follow_up_requested: true });
});

test("a resolve starts from the first coded reason that is a root cause", () => {
  const profile = HELLO.agent.agent;
  const reasons = [reason("unclassified"), reason("not_a_root_cause"), reason("long_wait")];
  assert.equal(initialRootCause(card(1, { reasons }), profile), "long_wait");
});

test("an unclassified case's resolve starts with no root cause chosen", () => {
  const profile = HELLO.agent.agent;
  assert.equal(initialRootCause(card(1, { reasons: [reason("unclassified")] }), profile), "");
  assert.equal(initialRootCause(card(1, { reasons: [] }), profile), "");
});

test("a resolve without a root cause or a reaction is not sent, and says which is missing", () => {
  assert.equal(resolveMissing({ root_cause: "", customer_reaction: "satisfied" }),
    "Choose the confirmed root cause.");
  assert.equal(resolveMissing({ root_cause: "rude", customer_reaction: "" }),
    "Choose the customer's reaction.");
  assert.equal(resolveMissing({ root_cause: "rude", customer_reaction: "neutral" }), null);
});
