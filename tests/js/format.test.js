// Times in words, with the clock passed in: a deadline still ahead must not read as past.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ago, fromNow, lateAnswerAt, slaState,
} from "../../services/notifier/winback_notifier/static/format.js";

const NOW = Date.parse("2026-11-30T15:30:00Z");
const at = (seconds) => new Date(NOW + seconds * 1000).toISOString();

describe("ago", () => {
  test("a past moment in minutes, hours and days", () => {
    assert.equal(ago(at(-20), NOW), "just now");
    assert.equal(ago(at(-3 * 60), NOW), "3 min ago");
    assert.equal(ago(at(-125 * 60), NOW), "2 h 5 min ago");
    assert.equal(ago(at(-26 * 3600), NOW), "1 day ago");
  });

  test("a moment not a date is nothing", () => {
    assert.equal(ago("soon", NOW), "");
  });
});

describe("fromNow", () => {
  test("a deadline ahead says how far ahead it is", () => {
    assert.equal(fromNow(at(61), NOW), "in 1 min");
    assert.equal(fromNow(at(4 * 60), NOW), "in 4 min");
    assert.equal(fromNow(at(3 * 3600), NOW), "in 3 h");
  });

  test("a deadline passed or about to pass reads as ago does", () => {
    assert.equal(fromNow(at(10), NOW), "just now");
    assert.equal(fromNow(at(-7 * 60), NOW), "7 min ago");
    assert.equal(fromNow("", NOW), "");
  });
});

describe("slaState", () => {
  const open = { status: "open", first_attempt_at: null };
  test("a warning counts only while nobody has tried", () => {
    assert.equal(slaState({ ...open, sla_warned_at: at(-60) }), "warned");
    assert.equal(slaState({ ...open, sla_warned_at: at(-60), first_attempt_at: at(-5) }), "");
    assert.equal(slaState(open), "");
  });

  test("a breach stays, until the case is finished", () => {
    const breached = { ...open, sla_warned_at: at(-300), sla_breached_at: at(-60) };
    assert.equal(slaState(breached), "breached");
    assert.equal(slaState({ ...breached, first_attempt_at: at(-5) }), "breached");
    assert.equal(slaState({ ...breached, status: "resolved" }), "");
  });
});

describe("lateAnswerAt", () => {
  const opened = "2026-11-30T15:30:00Z";
  const card = (submitted) => ({ opened_at: opened, submitted_at: submitted });

  test("an answer given an hour or more before the case opened is late", () => {
    assert.equal(lateAnswerAt(card("2026-11-21T09:00:00Z")), "2026-11-21T09:00:00Z");
    assert.equal(lateAnswerAt(card("2026-11-30T14:30:00Z")), "2026-11-30T14:30:00Z");
  });

  test("a fresh answer, a vendor clock a little ahead, or no time at all is not", () => {
    assert.equal(lateAnswerAt(card("2026-11-30T14:31:00Z")), null);
    assert.equal(lateAnswerAt(card("2026-11-30T15:32:00Z")), null);
    assert.equal(lateAnswerAt(card(null)), null);
    assert.equal(lateAnswerAt({ opened_at: opened }), null);
  });
});
