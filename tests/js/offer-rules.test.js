// Offers in the console without a browser: who may offer or answer, what an offer would become
// against the limit, and which live offer changes pop up on which console.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  foresee, givenText, limitText, mayAnswer, mayOffer, offerNews, pendingNews,
} from "../../services/notifier/winback_notifier/static/offer-rules.js";
import { reduce } from "../../services/notifier/winback_notifier/static/board-state.js";
import { normaliseProfile } from "../../services/notifier/winback_notifier/static/profile.js";
import { HELLO, card, signedIn } from "./support.js";

const ANA = normaliseProfile(HELLO.agent.agent);
const SUE = normaliseProfile(HELLO.supervisor.agent);
const VIEW = { currency: "EUR", committed: 30, limits: [{ currency: "EUR", max_amount: 50 }] };

function offerChange(value, kind, data, actor = "Ana") {
  return { type: "case.changed", case: value, change: { seq: value.seq, kind, actor, data } };
}

describe("offers in the console", () => {
  test("hello says where offers are made; the owner or a supervisor makes them", () => {
    assert.deepEqual(ANA.offers.statuses, ["claimed", "contacted"]);
    assert.ok(ANA.offers.kinds.includes("fee_waiver"));
    const mine = card(1, { status: "contacted", owner: "Ana" });
    assert.equal(mayOffer(mine, ANA), true);
    assert.equal(mayOffer({ ...mine, owner: "Ben" }, ANA), false);
    assert.equal(mayOffer({ ...mine, owner: "Ben" }, SUE), true);
    assert.equal(mayOffer({ ...mine, status: "resolved" }, ANA), false);
    assert.equal(mayOffer({ ...mine, status: "open", owner: null }, SUE), false);
  });

  test("only a supervisor answers, and never their own request", () => {
    const pending = { status: "pending", requested_by: "Ana" };
    assert.equal(mayAnswer(pending, SUE), true);
    assert.equal(mayAnswer(pending, ANA), false);
    assert.equal(mayAnswer({ ...pending, requested_by: "Sue" }, SUE), false);
    assert.equal(mayAnswer({ ...pending, status: "approved" }, SUE), false);
  });

  test("the case's offers so far count against the limit", () => {
    assert.equal(foresee(VIEW, 20, "EUR"), "granted");
    assert.equal(foresee(VIEW, 20.01, "EUR"), "pending");
    assert.equal(foresee(VIEW, 1, "USD"), "pending"); // no limit in USD: 0
    assert.equal(foresee(VIEW, 0, "EUR"), null);
    assert.match(limitText(VIEW, "EUR"), /50\.00 EUR; 30\.00 EUR offered/);
  });

  test("a request pops up for supervisors, not for agents nor for the one who asked", () => {
    const value = card(1, { seq: 2, status: "contacted", owner: "Ana" });
    const asked = offerChange(value, "offer_requested",
      { amount: 80, currency: "EUR", kind: "credit", requested_by: "Ana" });
    const { effects } = reduce(signedIn("supervisor", [card(1)]), asked);
    const toast = effects.find((e) => e.type === "toast");
    assert.equal(toast.reason, "offer_requested");
    assert.equal(toast.detail, "Ana asks 80.00 EUR credit");
    assert.deepEqual(reduce(signedIn("agent", [card(1)]), asked).effects
      .filter((e) => e.type === "toast"), []);
    assert.equal(offerNews(value, asked.change, { ...SUE, name: "Ana" }), null);
  });

  test("the owner hears the answer, with the reason of a refusal", () => {
    const value = card(1, { seq: 3, status: "contacted", owner: "Ana" });
    const declined = offerChange(value, "offer_declined",
      { amount: 80, currency: "EUR", kind: "credit", reason: "over policy" }, "Sue");
    const { effects } = reduce(signedIn("agent", [card(1)]), declined);
    const toast = effects.find((e) => e.type === "toast");
    assert.equal(toast.reason, "offer_declined");
    assert.equal(toast.detail, "Sue declined 80.00 EUR credit: over policy");
    assert.equal(offerNews({ ...value, owner: "Ben" }, declined.change, ANA), null);
  });
});

test("what resolving will record: the given offers' total", () => {
  assert.equal(givenText([{ status: "declined", amount: 9, currency: "EUR" }]), "");
  assert.match(givenText([
    { status: "granted", amount: 30, currency: "EUR" },
    { status: "approved", amount: 45, currency: "EUR" },
    { status: "pending", amount: 5, currency: "EUR" },
  ]), /^Given: 75\.00 EUR\./);
});

test("a supervisor connecting is reminded of the requests still waiting", () => {
  const cases = new Map([[1, card(1)], [2, card(2)]]);
  const pending = [
    { case_id: 1, requested_by: "Ana", amount: 80, currency: "EUR", kind: "fee_waiver" },
    { case_id: 2, requested_by: "Sue", amount: 9, currency: "EUR", kind: "gift" },
    { case_id: 3, requested_by: "Ana", amount: 9, currency: "EUR", kind: "gift" },
    { case_id: 2, requested_by: "Ben", amount: 60, currency: "EUR", kind: "refund",
      overdue_at: "2026-01-01T09:00:00Z" },
  ];
  const news = pendingNews(pending, cases, SUE);
  assert.deepEqual(news.map((n) => [n.card.case_id, n.reason, n.detail]), [
    [1, "offer_requested", "Ana asks 80.00 EUR fee waiver"],
    [2, "offer_overdue", "Still waiting: Ben asks 60.00 EUR refund"],
  ]);
  assert.deepEqual(pendingNews(pending, cases, ANA), []);
});
