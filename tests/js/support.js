// What the console's JavaScript tests share: the server's real `hello` (tests/js/hello.json,
// held to the server's profile by tests/unit/test_console_js.py), cards, and a way to run
// messages through the board reducer.

import { readFileSync } from "node:fs";

import {
  initialState, reduce,
} from "../../services/notifier/winback_notifier/static/board-state.js";

export const HELLO = JSON.parse(readFileSync(new URL("./hello.json", import.meta.url), "utf8"));

export function card(caseId, extra = {}) {
  return {
    case_id: caseId,
    seq: 1,
    status: "open",
    priority: 2,
    queue: "default",
    owner: null,
    opened_at: "2026-01-01T09:00:00Z",
    customer: { name: `Customer ${caseId}` },
    reasons: [{ code: "long_wait", label: "Long hold or wait" }],
    ...extra,
  };
}

export function opened(value) {
  return { type: "case.opened", case: value };
}

export function changed(value, kind, extra = {}) {
  const change = { seq: value.seq, kind, actor: "x" };
  return { type: "case.changed", case: value, change, ...extra };
}

export function snapshot(cases, total = cases.length) {
  return { type: "snapshot", cases, total };
}

// Every message through the reducer in turn; the last state and all effects, in order.
export function run(messages, state = initialState()) {
  const effects = [];
  let current = state;
  for (const message of messages) {
    const result = reduce(current, message);
    current = result.state;
    effects.push(...result.effects);
  }
  return { state: current, effects };
}

// A console signed in as `who` ("agent": Ana of queue default; "supervisor": Sue, no queue).
export function signedIn(who, cases = []) {
  return run([HELLO[who], snapshot(cases)]).state;
}

export function types(effects) {
  return effects.map((effect) => effect.type);
}
