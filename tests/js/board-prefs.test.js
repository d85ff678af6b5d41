// The board's own preferences and actions: the density this browser remembers, and the one
// action a card offers without opening the case (claiming), straight from the server's table.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DENSITY_KEY, readDensity, saveDensity, toggledDensity,
} from "../../services/notifier/winback_notifier/static/board-prefs.js";
import { boardActions, normaliseProfile } from "../../services/notifier/winback_notifier/static/profile.js";
import { HELLO, card } from "./support.js";

function memoryStorage(initial = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => items.set(key, String(value)),
  };
}

const refusing = {
  getItem: () => { throw new Error("SecurityError"); },
  setItem: () => { throw new Error("QuotaExceededError"); },
};

test("the density is comfortable until compact is chosen, and is remembered", () => {
  const storage = memoryStorage();
  assert.equal(readDensity(storage), "comfortable");
  saveDensity(storage, toggledDensity(readDensity(storage)));
  assert.equal(storage.getItem(DENSITY_KEY), "compact");
  assert.equal(readDensity(storage), "compact");
  assert.equal(toggledDensity("compact"), "comfortable");
});

test("an unknown stored density or a refusing storage falls back to comfortable", () => {
  assert.equal(readDensity(memoryStorage({ [DENSITY_KEY]: "tiny" })), "comfortable");
  assert.equal(readDensity(refusing), "comfortable");
  assert.doesNotThrow(() => saveDensity(refusing, "compact"));
});

test("a card offers Claim only where the server's table allows claiming", () => {
  const ana = normaliseProfile(HELLO.agent.agent);
  const sue = normaliseProfile(HELLO.supervisor.agent);
  assert.deepEqual(boardActions(card(1), ana), ["claimed"]);
  assert.deepEqual(boardActions(card(1), sue), ["claimed"]);
  assert.deepEqual(boardActions(card(1, { status: "claimed", owner: "Ana" }), ana), []);
  assert.deepEqual(boardActions(card(1, { status: "claimed", owner: "Ben" }), sue), []);
  assert.deepEqual(boardActions(card(1, { status: "resolved", owner: "Ben" }), ana), []);
  assert.deepEqual(boardActions(card(1), null), []);
});
