// The story so far as words and decisions: what triggered the survey, how earlier cases ended,
// what a joint claim offers, and whose cases warn the agent.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  claimOffer, describeInteraction, describeMatch, describeOutcome, ownedByOthers, repeatText,
} from "../../services/notifier/winback_notifier/static/story.js";
import { normaliseProfile } from "../../services/notifier/winback_notifier/static/profile.js";
import { HELLO, card } from "./support.js";

const profile = normaliseProfile(HELLO.agent.agent);

function linked(caseId, extra = {}) {
  return {
    case_id: caseId, status: "open", queue: "default", owner: null, mine: false,
    claimable: true, visible: true, ...extra,
  };
}

function story(extra = {}) {
  return {
    case_id: 1,
    interaction: { channel: "phone", id: "call-5521", agent: "jmoreau", team: "Billing T2",
      source: "zendesk", received_at: "2026-11-30T10:00:00Z" },
    responses: [],
    open_cases: [],
    repeat: false,
    repeat_window_days: 90,
    ...extra,
  };
}

test("the interaction reads as channel, id, agent and team", () => {
  assert.equal(describeInteraction(story().interaction),
    "phone · call-5521 · with jmoreau · team Billing T2");
  assert.equal(describeInteraction({ channel: "web_chat" }), "web chat");
  assert.equal(describeInteraction(null), "");
});

test("an earlier case reads as its outcome", () => {
  const outcome = {
    case_id: 7, status: "closed", owner: "ana", root_cause: "billing_error",
    root_cause_label: "Billing error",
    resolution: { apology: true, compensation: { value: 25, currency: "EUR" } },
    customer_reaction: "satisfied",
  };
  assert.equal(describeOutcome(outcome, profile),
    "case #7 closed · by ana · root cause Billing error · offered apology, compensation 25 EUR"
    + " · customer satisfied");
  assert.equal(describeOutcome(null, profile), "no case opened");
  assert.equal(describeMatch(["email", "phone"]), "same e-mail, same phone");
});

test("a repeat counts the earlier responses within the window only", () => {
  const responses = [
    { before: true, answered_at: "2026-11-10T10:00:00Z" },
    { before: true, answered_at: "2026-01-10T10:00:00Z" }, // older than 90 days
    { before: false, answered_at: "2026-11-30T11:00:00Z" },
  ];
  assert.equal(repeatText(story({ repeat: true, responses })),
    "Repeat customer: 1 earlier response in the last 90 days");
  assert.equal(repeatText(story({ responses })), "");
});

test("a joint claim is offered for an unowned or own case with free linked cases", () => {
  const open = [linked(2), linked(3, { owner: "bob", claimable: false })];
  assert.deepEqual(claimOffer(story({ open_cases: open }), card(1), profile),
    { linked: [2], label: "Claim this and 1 linked case" });
  const mine = card(1, { owner: profile.name, status: "claimed" });
  assert.deepEqual(claimOffer(story({ open_cases: [linked(2), linked(4)] }), mine, profile),
    { linked: [2, 4], label: "Also claim 2 linked cases" });
  const theirs = card(1, { owner: "bob", status: "claimed" });
  assert.equal(claimOffer(story({ open_cases: open }), theirs, profile), null);
  assert.equal(claimOffer(story({ open_cases: [open[1]] }), card(1), profile), null);
});

test("linked cases another agent owns warn; the agent's own do not", () => {
  const open = [linked(2, { owner: profile.name, mine: true }), linked(3, { owner: "bob" })];
  assert.deepEqual(ownedByOthers(story({ open_cases: open })).map((c) => c.case_id), [3]);
});
