// Reaching the customer, without a browser: outcomes and how attempts read (old ones too), the
// customer's clock and calling hours as said, the words' placeholders, and which keys fire.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  callBack, describeAttempt, outcomeChoices, outcomeOf,
} from "../../services/notifier/winback_notifier/static/call-outcomes.js";
import {
  attemptBody, localInputValue, nextWholeHour,
} from "../../services/notifier/winback_notifier/static/call-attempt.js";
import {
  describeCallTime, describeHours, needsWarning, wallClock,
} from "../../services/notifier/winback_notifier/static/call-time.js";
import { fillLine, reasonWords } from "../../services/notifier/winback_notifier/static/call-guidance.js";
import {
  isTyping, nextUnclaimed, shortcutFor,
} from "../../services/notifier/winback_notifier/static/call-keys.js";
import { normaliseProfile } from "../../services/notifier/winback_notifier/static/profile.js";
import { HELLO, card } from "./support.js";

const PROFILE = normaliseProfile(HELLO.agent.agent);

test("the outcomes come from the server's hello, in its order, keyed 1 to 5", () => {
  assert.deepEqual(outcomeChoices(PROFILE).map(([o, , k]) => `${k}:${o}`),
    ["1:reached", "2:no_answer", "3:voicemail", "4:wrong_number", "5:call_later"]);
  assert.equal(outcomeChoices(normaliseProfile({})).length, 5); // an older server: the same five
});

test("an attempt logged before outcomes existed reads as it always did", () => {
  assert.equal(outcomeOf({ reached: true }), "reached");
  assert.equal(outcomeOf({ reached: false }), "no_answer");
  assert.equal(describeAttempt({ channel: "phone", reached: false }, PROFILE), "phone: no answer");
  assert.equal(describeAttempt({ channel: "phone", reached: false, outcome: "voicemail" }, PROFILE),
    "phone: voicemail left");
  assert.match(describeAttempt({ channel: "phone", outcome: "call_later",
    call_back_at: "2026-12-01T15:00:00Z" }, PROFILE), /^phone: call later, at /);
});

test("a call-back shows until the case is finished, missed once the timers said so", () => {
  const asked = card(1, { status: "claimed", call_back_due_at: "2026-12-01T15:00:00Z" });
  assert.deepEqual(callBack(asked), { due: Date.parse("2026-12-01T15:00:00Z"), missed: false });
  assert.equal(callBack({ ...asked, call_back_missed_at: "2026-12-01T15:05:00Z" }).missed, true);
  assert.equal(callBack({ ...asked, status: "resolved" }), null);
  assert.equal(callBack(card(2)), null);
});

test("call later needs a time, sent as an instant; other outcomes send none", () => {
  assert.deepEqual(attemptBody("voicemail", "phone", "left one", "2026-12-01T15:00"),
    { channel: "phone", outcome: "voicemail", note: "left one" });
  const later = attemptBody("call_later", "phone", "", "2026-12-01T15:00");
  assert.equal(later.call_back_at, new Date("2026-12-01T15:00").toISOString());
  assert.equal(attemptBody("call_later", "phone", "", ""), null);
  const next = nextWholeHour(new Date(2026, 11, 1, 14, 20));
  assert.equal(localInputValue(next), "2026-12-01T15:00");
});

test("the customer's clock is read in their zone, a spread over several zones as a range", () => {
  const noonUtc = Date.parse("2026-11-30T12:00:00Z");
  assert.equal(wallClock("America/New_York", noonUtc), "07:00");
  const one = describeCallTime({ zones: [{ zone: "America/New_York" }], verdict: "outside" },
    noonUtc);
  assert.equal(one.clock, "07:00 local time (America/New York)");
  assert.equal(one.text, "outside calling hours");
  const two = describeCallTime({ zones: [{ zone: "Europe/London" }, { zone: "Asia/Tokyo" }],
    verdict: "mixed" }, noonUtc);
  assert.equal(two.clock, "12:00–21:00 local time (2 time zones)");
  assert.equal(describeCallTime({ zones: [], verdict: "unknown" }, noonUtc).clock,
    "local time unknown");
  assert.equal(needsWarning({ verdict: "outside" }), true);
  assert.equal(needsWarning({ verdict: "mixed" }), true);
  assert.equal(needsWarning({ verdict: "ok" }), false);
});

test("calling hours read as days with the same hours together", () => {
  const weekdays = ["mon", "tue", "wed", "thu", "fri"];
  const hours = Object.fromEntries(weekdays.map((d) => [d, ["09:00-20:00"]]));
  hours.sat = ["10:00-16:00"];
  assert.equal(describeHours(hours), "Mon–Fri 09:00–20:00, Sat 10:00–16:00");
  assert.equal(describeHours({}), "never");
});

test("the words fill in who is calling whom, and keep the case's reasons in order, once", () => {
  assert.equal(fillLine("Hello {customer}, I'm {agent} from {company}. {other}",
    { customer: "Dana", agent: "ana", company: "Acme" }), "Hello Dana, I'm ana from Acme. {other}");
  const words = { reasons: { long_wait: { apology: ["Sorry."], options: [] },
    rude: { apology: ["Sorry!"], options: ["x"] } } };
  const shown = reasonWords(card(1, { reasons: [{ code: "rude", label: "Rude" },
    { code: "unclassified" }, { code: "long_wait", label: "Wait" }, { code: "rude" }] }), words);
  assert.deepEqual(shown.map((r) => r.code), ["rude", "long_wait"]);
});

test("keys fire on the page and on buttons, never while typing or with a modifier", () => {
  const on = (tagName, extra = {}) => ({ tagName, ...extra });
  const key = (k, target, extra = {}) => ({ key: k, target, ...extra });
  assert.equal(shortcutFor(key("n", on("BODY"))), "next");
  assert.equal(shortcutFor(key("N", on("BUTTON"))), "next");
  assert.equal(shortcutFor(key("c", on("LI"))), "claim");
  assert.equal(shortcutFor(key("3", on("BUTTON"))), "outcome:3");
  assert.equal(shortcutFor(key("Escape", on("BODY"))), "close");
  for (const target of [on("TEXTAREA"), on("SELECT"), on("INPUT", { type: "text" }),
    on("INPUT", { type: "datetime-local" }), on("DIV", { isContentEditable: true })]) {
    assert.equal(isTyping(target), true);
    assert.equal(shortcutFor(key("n", target)), null);
    assert.equal(shortcutFor(key("2", target)), null);
  }
  assert.equal(isTyping(on("INPUT", { type: "checkbox" })), false);
  assert.equal(shortcutFor(key("c", on("BODY"), { ctrlKey: true })), null);
  assert.equal(shortcutFor(key("n", on("BODY"), { metaKey: true })), null);
  assert.equal(shortcutFor(key("x", on("BODY"))), null);
});

test("the next case is the most urgent claimable one other than the case shown", () => {
  const rows = [card(1, { owner: "ben" }), card(2), card(3)];
  const claimable = (c) => !c.owner;
  assert.equal(nextUnclaimed(rows, null, claimable).case_id, 2);
  assert.equal(nextUnclaimed(rows, 2, claimable).case_id, 3);
  assert.equal(nextUnclaimed([card(1, { owner: "ben" })], null, claimable), null);
});
