// The board reducer without a browser: every live message and the agent's own moves.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  boardRows, initialState, reduce, summarise,
} from "../../services/notifier/winback_notifier/static/board-state.js";
import { HELLO, card, changed, opened, run, signedIn, snapshot, types } from "./support.js";

const ids = (state, filter = "all") => boardRows(state, filter).map((c) => c.case_id);

describe("seq", () => {
  test("a card not newer than the one shown is dropped, with no effect", () => {
    const state = signedIn("agent", [card(1, { seq: 2 })]);
    for (const seq of [1, 2]) {
      const result = reduce(state, opened(card(1, { seq, comment: "stale" })));
      assert.equal(result.state, state);
      assert.deepEqual(result.effects, []);
    }
  });

  test("a newer card replaces it, keeping what the router's alerts lack", () => {
    const state = signedIn("agent", [card(1, { owner: "Ana", failed_attempts: 2 })]);
    const alert = card(1, { seq: 2, comment: "updated comment" });
    delete alert.owner;
    const { state: next, effects } = run([opened(alert)], state);
    assert.deepEqual(effects, []);
    const shown = next.cases.get(1);
    assert.equal(shown.comment, "updated comment");
    assert.equal(shown.owner, "Ana");
    assert.equal(shown.failed_attempts, 2);
  });

  test("a repeated change is applied and announced once", () => {
    const state = signedIn("supervisor", [card(1)]);
    const breach = changed(card(1, { seq: 2, sla_breached_at: "2026-01-01T09:10:00Z" }),
      "sla_breached");
    const { effects } = run([breach, breach, breach], state);
    assert.deepEqual(types(effects), ["toast", "sound"]);
  });

  test("malformed cards and unknown messages change nothing", () => {
    const state = signedIn("agent", [card(1)]);
    for (const message of [opened({ case_id: "1", seq: 1 }), opened(null), { type: "pong" },
      { type: "case.future" }, null]) {
      const result = reduce(state, message);
      assert.equal(result.state, state);
      assert.deepEqual(result.effects, []);
    }
  });
});

describe("ordering", () => {
  test("most urgent first, then least time left; resolved cases last", () => {
    let state = signedIn("agent", [
      card(1, { priority: 2, opened_at: "2026-01-01T09:00:00Z" }),
      card(2, { priority: 1, opened_at: "2026-01-01T10:00:00Z" }),
    ]);
    assert.deepEqual(ids(state), [2, 1]);
    state = run([
      opened(card(3, { priority: 1, opened_at: "2026-01-01T11:00:00Z" })),
      opened(card(4, { priority: 3, opened_at: "2026-01-01T08:00:00Z" })),
      opened(card(5, { priority: 1, opened_at: "2026-01-01T07:00:00Z", status: "resolved",
        owner: "Ana" })),
    ], state).state;
    assert.deepEqual(ids(state), [2, 3, 1, 4, 5]);
  });

  test("the stored deadline orders cases of one priority", () => {
    const state = signedIn("agent", [
      card(1, { contact_due_at: "2026-01-01T12:00:00Z" }),
      card(2, { contact_due_at: "2026-01-01T11:00:00Z" }),
      card(3, { contact_due_at: "2026-01-01T11:00:00Z", first_attempt_at: "2026-01-01T09:30:00Z",
        opened_at: "2026-01-01T08:00:00Z" }),
    ]);
    assert.deepEqual(ids(state), [3, 2, 1]); // an attempt stops the clock: opening time counts
  });

  test("filters: unclaimed and mine", () => {
    const state = signedIn("agent",
      [card(1), card(2, { owner: "Ana" }), card(3, { owner: "Ben" })]);
    assert.deepEqual(ids(state, "unclaimed"), [1]);
    assert.deepEqual(ids(state, "mine"), [2]);
    assert.deepEqual(ids(state, "all"), [1, 2, 3]);
  });
});

describe("leaving the board", () => {
  test("a case moved to a queue the agent does not see leaves the board and its news", () => {
    let state = run([opened(card(1))], signedIn("agent")).state;
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    assert.equal(state.unseen.has(1), false);
    state = run([opened(card(2))], state).state;
    const moved = changed(card(2, { seq: 2, queue: "billing" }), "reassigned",
      { previous_queue: "default" });
    const { state: next, effects } = run([moved], state);
    assert.deepEqual(ids(next), [1]);
    assert.equal(next.unseen.has(2), false);
    assert.deepEqual(effects, []);
    assert.equal(summarise(next).title, "winback console");
  });

  test("the panel follows its case out of the agent's queues", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const moved = card(1, { seq: 2, queue: "billing" });
    const { state: next, effects } = run([changed(moved, "reassigned",
      { previous_queue: "default" })], state);
    assert.deepEqual(ids(next), []);
    assert.deepEqual(effects, [{ type: "panel.update", card: moved }]);
    assert.equal(next.shown.queue, "billing");
  });

  test("a supervisor keeps a case moved between queues", () => {
    const state = signedIn("supervisor", [card(1)]);
    const { state: next } = run([changed(card(1, { seq: 2, queue: "billing" }), "reassigned",
      { previous_queue: "default" })], state);
    assert.equal(next.cases.get(1).queue, "billing");
  });

  test("a closed case leaves the board: the statuses come from the server's hello", () => {
    const state = signedIn("agent", [card(1, { status: "resolved", owner: "Ana" })]);
    assert.deepEqual(HELLO.agent.agent.vocabulary.board_statuses.includes("closed"), false);
    const { state: next } = run([changed(card(1, { seq: 2, status: "closed", owner: "Ana" }),
      "closed")], state);
    assert.deepEqual(ids(next), []);
  });
});

describe("snapshot", () => {
  test("replaces the board, keeps news only for cases still on it, counts what it left out", () => {
    let state = signedIn("agent", [card(1), card(2)]);
    state = run([opened(card(3)), opened(card(4))], state).state;
    assert.deepEqual([...state.unseen], [3, 4]);
    const { state: next } = run([snapshot([card(3), card(5)], 40)], state);
    assert.deepEqual(ids(next), [3, 5]);
    assert.deepEqual([...next.unseen], [3]);
    assert.equal(next.notLoaded, 38);
    assert.equal(summarise(next).title, "(1) winback console");
  });

  test("leaves out what the agent may not see, and says the board is live", () => {
    const state = run([HELLO.agent]).state;
    const { state: next, effects } = run([snapshot([card(1), card(2, { queue: "vip" }),
      card(3, { status: "closed" }), { case_id: 4 }])], state);
    assert.deepEqual(ids(next), [1]);
    assert.deepEqual(effects, [{ type: "live" }]);
  });

  test("resyncs the case panel: the newer card, then a fresh read of the case", () => {
    let state = signedIn("agent", [card(1), card(2)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const newer = card(1, { seq: 3, owner: "Ben" });
    const { state: next, effects } = run([HELLO.agent, snapshot([newer, card(2)])], state);
    assert.deepEqual(types(effects), ["profile", "panel.update", "panel.resync", "live"]);
    assert.equal(next.shown, newer);
  });

  test("a panel case no longer on the board is still resynced", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const { effects } = run([snapshot([])], state);
    assert.deepEqual(types(effects), ["panel.resync", "live"]);
  });
});

describe("catching up", () => {
  const catchup = (cases, cursor = "v1.2.view") => ({ type: "catchup", cases, cursor });

  test("a snapshot's cursor is kept, to be sent back on reconnecting; signing out drops it", () => {
    const state = run([HELLO.agent, { ...snapshot([card(1)]), cursor: "v1.1.view" }]).state;
    assert.equal(state.cursor, "v1.1.view");
    assert.equal(reduce(state, { type: "ui.sign_out" }).state.cursor, null);
  });

  test("merges what changed into the board, beyond the snapshot, and moves the cursor on", () => {
    const state = run([HELLO.agent, { ...snapshot([card(1), card(2)], 900), cursor: "c1" }])
      .state;
    const { state: next, effects } = run([
      catchup([card(2, { seq: 2, status: "closed" }), card(3), card(4, { queue: "vip" })], null),
      catchup([card(5, { priority: 1 }), card(1)], "c2"),
    ], state);
    assert.deepEqual(ids(next), [5, 1, 3]); // 2 closed, 4 not my queue, 1 not newer
    assert.deepEqual([...next.unseen], [3, 5]);
    assert.equal(next.cursor, "c2");
    assert.equal(next.notLoaded, 898);
    assert.deepEqual(types(effects), ["toast", "sound", "desktop", "toast", "sound",
      "desktop", "live"]);
  });

  test("a page without the cursor neither moves it nor says the board is live", () => {
    const state = run([HELLO.agent, { ...snapshot([]), cursor: "c1" }]).state;
    const { state: next, effects } = run([catchup([card(1, { owner: "Ben" })], null)], state);
    assert.equal(next.cursor, "c1");
    assert.deepEqual(effects, []);
    assert.deepEqual(ids(next), [1]);
  });

  test("one sound and one desktop note for a page of many new cases", () => {
    const state = signedIn("agent");
    const { effects } = run([catchup([card(1), card(2), card(3)])], state);
    assert.deepEqual(types(effects).filter((t) => t !== "toast"), ["sound", "desktop", "live"]);
    assert.equal(types(effects).filter((t) => t === "toast").length, 3);
  });

  test("resyncs an open case panel once caught up", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const newer = card(1, { seq: 2, owner: "Ben", status: "claimed" });
    const { state: next, effects } = run([catchup([newer])], state);
    assert.deepEqual(types(effects), ["panel.update", "panel.resync", "live"]);
    assert.deepEqual(next.shown, newer);
  });
});

describe("hello", () => {
  test("an agent that lost the panel case's queue has the panel closed", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const moved = { ...HELLO.agent, agent: { ...HELLO.agent.agent, queues: ["billing"] } };
    const { state: next, effects } = run([moved], state);
    assert.deepEqual(types(effects), ["panel.close", "profile"]);
    assert.equal(next.shown, null);
    assert.deepEqual(effects[1].profile.queues, ["billing"]);
  });

  test("the panel stays open while the agent still sees its case", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const { state: next, effects } = run([HELLO.supervisor], state);
    assert.deepEqual(types(effects), ["profile"]);
    assert.equal(next.shown.case_id, 1);
  });
});

describe("news", () => {
  test("a new unowned case of my queue pops up, sounds and notifies", () => {
    const fresh = card(1);
    const { state, effects } = run([opened(fresh)], signedIn("agent"));
    assert.deepEqual(effects, [
      { type: "toast", reason: "new", card: fresh },
      { type: "sound" },
      { type: "desktop", card: fresh },
    ]);
    assert.deepEqual([...state.unseen], [1]);
    assert.equal(summarise(state).title, "(1) winback console");
  });

  test("and nothing else does", () => {
    const agent = signedIn("agent", [card(1)]);
    const quiet = [
      opened(card(1, { seq: 2 })), // known
      opened(card(2, { owner: "Ben" })), // owned
      opened(card(3, { queue: "vip" })), // not my queue
      { type: "case.updated", case: card(1, { seq: 3, status: "claimed", owner: "Ben" }) },
    ];
    const { state, effects } = run(quiet, agent);
    assert.deepEqual(effects, []);
    assert.deepEqual(ids(state), [1, 2]);
    // A supervisor sees every queue but hears only of its own (Sue has none).
    const { state: seen, effects: none } = run([opened(card(4))], signedIn("supervisor"));
    assert.deepEqual(none, []);
    assert.deepEqual(ids(seen), [4]);
  });

  test("a case.updated for a case new to the board pops up like an opened one", () => {
    const { effects } = run([{ type: "case.updated", case: card(7) }], signedIn("agent"));
    assert.deepEqual(types(effects), ["toast", "sound", "desktop"]);
  });

  test("a reopened case comes back as news", () => {
    const state = signedIn("agent");
    const { effects } = run([changed(card(1, { seq: 5, status: "reopened" }), "reopened")], state);
    assert.deepEqual(types(effects), ["toast", "sound", "desktop"]);
  });

  test("a re-coding is a quiet update, even for a case the console did not know", () => {
    const known = signedIn("agent", [card(1)]);
    const { state, effects } = run([
      changed(card(1, { seq: 2, reasons: [{ code: "rude_agent", label: "Rude agent" }] }),
        "recoded"),
      changed(card(2, { seq: 4 }), "recoded"),
    ], known);
    assert.deepEqual(effects, []);
    assert.deepEqual(ids(state), [1, 2]);
    assert.equal(state.cases.get(1).reasons[0].code, "rude_agent");
    assert.equal(state.unseen.size, 0);
    assert.equal(summarise(state).title, "winback console");
  });

  test("a cases.changed frame is applied as its case.changed frames would be, one by one", () => {
    const known = signedIn("supervisor", [card(1), card(2, { owner: "Ana" })]);
    const changes = [
      changed(card(1, { seq: 2, reasons: [{ code: "rude_agent", label: "Rude agent" }] }),
        "recoded"),
      changed(card(3, { seq: 4 }), "recoded"), // not on the board yet: quietly added
      changed(card(1, { seq: 3, reasons: [{ code: "billing", label: "Billing" }] }), "recoded"),
      changed(card(1, { seq: 2, reasons: [] }), "recoded"), // a repeat, older: dropped
      changed(card(2, { seq: 5, sla_breached_at: "2026-01-01T09:10:00Z" }), "sla_breached"),
    ];
    const alone = run(changes, known);
    const together = run([{ type: "cases.changed", changes }], known);
    assert.deepEqual(together.state, alone.state);
    assert.deepEqual(together.effects, alone.effects);
    assert.deepEqual(types(together.effects), ["toast", "sound"]); // the breach, still news
    assert.equal(together.state.cases.get(1).reasons[0].code, "billing"); // the latest wins
    assert.deepEqual(ids(together.state), [1, 2, 3]);
  });

  test("a cases.changed frame skips what is not a case.changed, and an empty one is nothing", () => {
    const known = signedIn("agent", [card(1)]);
    const recoded = changed(card(1, { seq: 2, reasons: [] }), "recoded");
    const { state } = run([{ type: "cases.changed",
      changes: [opened(card(9)), null, recoded] }], known);
    assert.deepEqual(ids(state), [1]);
    assert.deepEqual(state.cases.get(1).reasons, []);
    for (const message of [{ type: "cases.changed" }, { type: "cases.changed", changes: [] }]) {
      const result = reduce(known, message);
      assert.equal(result.state, known);
      assert.deepEqual(result.effects, []);
    }
  });

  test("a breach pops up for supervisors only", () => {
    const breach = changed(card(1, { seq: 2, sla_breached_at: "2026-01-01T09:10:00Z" }),
      "sla_breached");
    const { effects: sue } = run([breach], signedIn("supervisor", [card(1)]));
    assert.deepEqual(sue.map((e) => [e.type, e.reason]),
      [["toast", "sla_breached"], ["sound", undefined]]);
    const { effects: ana } = run([breach], signedIn("agent", [card(1)]));
    assert.deepEqual(ana, []);
  });

  test("a lapsed claim is news again for the queue's agents, without a sound", () => {
    const state = signedIn("agent", [card(1, { status: "claimed", owner: "Ben" })]);
    const lapsed = changed(card(1, { seq: 2, status: "open", owner: null }), "claim_lapsed");
    const { state: next, effects } = run([lapsed], state);
    assert.deepEqual(effects.map((e) => [e.type, e.reason]), [["toast", "claim_lapsed"]]);
    assert.deepEqual([...next.unseen], [1]);
    const { effects: sue } = run([lapsed],
      signedIn("supervisor", [card(1, { status: "claimed", owner: "Ben" })]));
    assert.deepEqual(sue, []);
  });

  test("a missed call-back pops up for its owner and supervisors, not for other agents", () => {
    const mine = card(1, { status: "claimed", owner: "Ana" });
    const missed = changed({ ...mine, seq: 2, call_back_due_at: "2026-01-01T15:00:00Z",
      call_back_missed_at: "2026-01-01T15:05:00Z" }, "call_back_missed");
    const { effects: ana } = run([missed], signedIn("agent", [mine]));
    assert.deepEqual(ana.map((e) => [e.type, e.reason]),
      [["toast", "call_back_missed"], ["sound", undefined]]);
    const { effects: sue } = run([missed], signedIn("supervisor", [mine]));
    assert.deepEqual(sue.map((e) => e.reason), ["call_back_missed", undefined]);
    const bens = card(1, { status: "claimed", owner: "Ben" });
    const { effects: other } = run([{ ...missed, case: { ...missed.case, owner: "Ben" } }],
      signedIn("agent", [bens]));
    assert.deepEqual(other, []);
  });
});

describe("the agent's own moves", () => {
  test("opening a case marks it seen, dismisses its pop-ups and shows it", () => {
    const state = run([opened(card(1))], signedIn("agent")).state;
    const { state: next, effects } = run([{ type: "ui.open", caseId: 1 }], state);
    assert.deepEqual(effects, [
      { type: "dismiss_toasts", caseId: 1 },
      { type: "panel.open", card: state.cases.get(1) },
    ]);
    assert.equal(next.unseen.size, 0);
    assert.equal(next.shown.case_id, 1);
    assert.deepEqual(types(run([{ type: "ui.open", caseId: 9 }], state).effects),
      ["dismiss_toasts"]);
  });

  test("seen, all seen, close and sign out", () => {
    let state = run([opened(card(1)), opened(card(2)), { type: "ui.seen", caseId: 1 }],
      signedIn("agent")).state;
    assert.deepEqual([...state.unseen], [2]);
    state = reduce(state, { type: "ui.all_seen" }).state;
    assert.equal(state.unseen.size, 0);
    state = reduce(state, { type: "ui.open", caseId: 2 }).state;
    const closed = reduce(state, { type: "ui.close" });
    assert.equal(closed.state.shown, null);
    assert.deepEqual(closed.effects, [{ type: "panel.close" }]);
    const out = reduce(state, { type: "ui.sign_out" });
    assert.deepEqual(ids(out.state), []);
    assert.equal(out.state.shown, null);
    assert.deepEqual(out.effects, [{ type: "panel.close" }]);
  });

  test("the panel shows a newer card it read, never an older one", () => {
    let state = signedIn("agent", [card(1, { seq: 3 })]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    assert.deepEqual(reduce(state, { type: "api.case", card: card(1, { seq: 2 }) }).effects, []);
    const newer = card(1, { seq: 4 });
    const { state: next, effects } = reduce(state, { type: "api.case", card: newer });
    assert.deepEqual(effects, [{ type: "panel.show", card: newer }]);
    assert.equal(next.shown, newer);
    assert.equal(next.cases.get(1).seq, 3); // the board waits for the live change
  });

  test("the answer to an action updates the board and the panel", () => {
    let state = signedIn("agent", [card(1)]);
    state = reduce(state, { type: "ui.open", caseId: 1 }).state;
    const claimed = card(1, { seq: 2, status: "claimed", owner: "Ana" });
    const { state: next, effects } = reduce(state, { type: "api.acted", card: claimed });
    assert.deepEqual(types(effects), ["panel.update", "panel.update"]);
    assert.equal(next.cases.get(1).owner, "Ana");
    // The same change arriving live afterwards is a repeat.
    assert.deepEqual(reduce(next, changed(claimed, "claimed")).effects, []);
  });
});

test("reduce never changes the state it is given", () => {
  const state = run([opened(card(1)), opened(card(2))], signedIn("agent")).state;
  const before = {
    cases: [...state.cases.entries()], unseen: [...state.unseen], shown: state.shown,
  };
  for (const message of [
    opened(card(3)),
    changed(card(1, { seq: 2, queue: "billing" }), "reassigned"),
    changed(card(2, { seq: 2, status: "open", owner: null }), "claim_lapsed"),
    snapshot([card(9)]),
    { type: "ui.open", caseId: 1 },
    { type: "ui.all_seen" },
    { type: "ui.sign_out" },
    HELLO.supervisor,
  ]) {
    reduce(state, message);
  }
  assert.deepEqual([...state.cases.entries()], before.cases);
  assert.deepEqual([...state.unseen], before.unseen);
  assert.equal(state.shown, before.shown);
});

test("before any hello the board takes what the server sends", () => {
  const { state } = run([snapshot([card(1), card(2, { queue: "vip" })])], initialState());
  assert.deepEqual(ids(state), [1, 2]);
});
