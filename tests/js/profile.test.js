// What the console reads from the server's hello: which actions a case allows this agent, and
// the words for history kinds. Nothing of the workflow is written down on this side.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  allowedActions, historyLabel, mayReadOps, normaliseProfile, onBoard, relationTo,
} from "../../services/notifier/winback_notifier/static/profile.js";
import { HELLO, card } from "./support.js";

const ana = normaliseProfile(HELLO.agent.agent);
const sue = normaliseProfile(HELLO.supervisor.agent);

test("the relation to a case is read from its owner", () => {
  assert.equal(relationTo(card(1), ana), "unowned");
  assert.equal(relationTo(card(1, { owner: "Ana" }), ana), "owner");
  assert.equal(relationTo(card(1, { owner: "Ben" }), ana), "other");
});

test("the actions offered are the server's table for this agent", () => {
  assert.deepEqual(allowedActions(card(1), ana), ["claimed", "note_added"]);
  assert.deepEqual(allowedActions(card(1, { status: "claimed", owner: "Ana" }), ana),
    ["contact_attempted", "marked_unreachable", "reasons_reviewed", "note_added"]);
  assert.deepEqual(allowedActions(card(1, { status: "claimed", owner: "Ben" }), ana),
    ["note_added"]);
  assert.deepEqual(allowedActions(card(1, { status: "resolved", owner: "Ben" }), ana),
    ["reopened", "note_added"]);
  // A supervisor works someone else's case, and reassigns, but cannot claim an owned one.
  assert.deepEqual(allowedActions(card(1, { status: "contacted", owner: "Ben" }), sue),
    ["contact_attempted", "resolved", "reassigned", "reasons_reviewed", "note_added"]);
  // Reviewing the coded reasons is the owner's (or a supervisor's), even once it is closed.
  assert.deepEqual(allowedActions(card(1, { status: "closed", owner: "Ana" }), ana),
    ["reopened", "reasons_reviewed", "note_added"]);
  // Nobody works an unowned case before claiming it.
  assert.deepEqual(allowedActions(card(1, { status: "unreachable" }), sue),
    ["claimed", "reopened", "reassigned", "note_added"]);
});

test("every status the board shows allows something to everyone", () => {
  for (const profile of [ana, sue]) {
    for (const status of profile.vocabulary.board_statuses) {
      for (const owner of [null, "Ana", "Ben"]) {
        assert.ok(allowedActions(card(1, { status, owner }), profile).includes("note_added"));
      }
    }
  }
});

test("history kinds are named by the server, revisions included", () => {
  assert.equal(historyLabel("revised", ana), "Response revised");
  assert.equal(historyLabel("recoded", ana), "Reasons re-coded");
  assert.equal(historyLabel("some_new_kind", ana), "some new kind");
});

test("a hello without the table or the vocabulary offers nothing and hides nothing", () => {
  const bare = normaliseProfile({ name: "Ana", role: "agent", queues: ["default"] });
  assert.deepEqual(allowedActions(card(1), bare), []);
  assert.equal(onBoard(card(1, { status: "closed" }), bare), true);
  assert.equal(onBoard(card(1, { queue: "vip" }), bare), false);
  assert.equal(bare.policy.unreachable_after_attempts, 3);
  assert.equal(historyLabel("note_added", bare), "note added");
});

test("only supervisors and admins get the ops page's link", () => {
  assert.equal(mayReadOps(ana), false);
  assert.equal(mayReadOps(sue), true);
  assert.equal(mayReadOps(normaliseProfile({ ...HELLO.supervisor.agent, role: "admin" })), true);
  assert.equal(mayReadOps(null), false);
});
