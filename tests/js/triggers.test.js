// Why a case has its priority, as the case's history says it.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  describeRevision, describeTrigger, describeTriggers,
} from "../../services/notifier/winback_notifier/static/triggers.js";

const LABELS = { rude: "Rude or unhelpful staff", billing_error: "Billing error" };
const labelOf = (code) => LABELS[code] || code;

describe("describeTrigger", () => {
  test("scores, reasons and requests in words", () => {
    assert.equal(describeTrigger("nps=2", labelOf), "NPS 2");
    assert.equal(describeTrigger("csat=1", labelOf), "CSAT 1");
    assert.equal(describeTrigger("reason=rude", labelOf), "Rude or unhelpful staff");
    assert.equal(describeTrigger("follow_up_requested", labelOf), "asked to be contacted");
    assert.equal(
      describeTrigger("follow_up_in_comment", labelOf), "asked in the comment to be contacted",
    );
    assert.equal(
      describeTrigger("past_recovery_window", labelOf), "answered past the recovery window",
    );
  });

  test("the steps up say so", () => {
    assert.equal(
      describeTrigger("heavy_reason=billing_error:2", labelOf), "Billing error weighs 2 (up one)",
    );
    assert.equal(describeTrigger("customer_segment=Gold", labelOf), "Gold customer (up one)");
    assert.equal(
      describeTrigger("customer_value=12000", labelOf), "lifetime value 12000 (up one)",
    );
  });

  test("a trigger it does not know is shown as written", () => {
    assert.equal(describeTrigger("weather=stormy", labelOf), "weather=stormy");
    assert.equal(describeTrigger("surprise", labelOf), "surprise");
    assert.equal(describeTrigger("reason=unknown_code", labelOf), "unknown_code");
  });
});

describe("describeTriggers", () => {
  test("the whole ladder on one line", () => {
    assert.equal(
      describeTriggers(["nps=2", "reason=rude", "customer_segment=Gold"], labelOf),
      "because NPS 2 · Rude or unhelpful staff · Gold customer (up one)",
    );
  });

  test("an opening without triggers says nothing", () => {
    assert.equal(describeTriggers(undefined, labelOf), "");
    assert.equal(describeTriggers([], labelOf), "");
    assert.equal(describeTriggers("nps=2", labelOf), "");
  });
});

describe("describeRevision", () => {
  test("what changed and why the priority is what it is now", () => {
    assert.equal(
      describeRevision(
        { comment_added: true, priority: 1, triggers: ["nps=2", "reason=billing_error"] }, labelOf,
      ),
      "comment added, priority 1, because NPS 2 · Billing error",
    );
  });

  test("a revision recorded before triggers were kept says what it can", () => {
    assert.equal(describeRevision({ comment_added: false, priority: 2 }, labelOf), "priority 2");
    assert.equal(describeRevision({}, labelOf), "");
  });
});
