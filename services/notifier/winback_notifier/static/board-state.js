// The board as data, and what each message does to it.
//
// `reduce(state, message)` is pure: it answers the next state and the effects to perform, as
// plain data ({type: "toast" | "sound" | "desktop" | "dismiss_toasts" | "profile" | "live" |
// "panel.*"});
// console.js performs them and draws the board from the state. Everything that changes the
// board goes through it: the server's messages, and the agent's own moves (`ui.*`) and API
// answers (`api.*`).
//
// The server sends `hello` (who you are, your queues, the policy, what you may do), a
// `snapshot` of the board, then live messages: `case.opened` / `case.updated` from the router
// and `case.changed` from the case API (and from the re-coding tool and the SLA timers:
// `sla_warning`, `sla_breached`, `claim_lapsed`); re-codings that arrive together come as one
// `cases.changed` carrying their `case.changed` frames in order. When an admin changes the agent, a new
// `hello` and `snapshot` arrive on the same connection and replace what the console knew.
// A snapshot carries a `cursor`, kept in the state; on reconnecting the console sends it back
// and gets `catchup` pages instead of a snapshot: every case changed while it was away,
// however large the board (the last page carries the next cursor). They are applied like live
// cards, so a case opened meanwhile pops up, and a closed or moved one leaves the board.
// Every card carries the case's `seq`; anything not newer than what is shown is dropped, so
// overlaps between snapshot and live stream, repeats and reconnects are harmless. A change that
// moves a case to a queue the agent does not see takes it off the board.
//
// State: `profile` (normalised hello), `cases` (Map case_id -> card), `unseen` (Set of case
// ids that arrived live for my queues, not yet acknowledged), `notLoaded` (cases the snapshot
// left out, past the notifier's board limit), `shown` (the card in the case panel, or null),
// `cursor` (where to resume on reconnecting, or null).

import { dueAt } from "./format.js";
import { offerNews } from "./offer-rules.js";
import { isMine, normaliseProfile, onBoard, seesQueue } from "./profile.js";

export const TITLE = "winback console";

// Changes that are no news for an agent: the board and the open case show them, but they never
// pop up, beep or notify, even for a case this console did not know (say, past its snapshot).
// A re-coding after a taxonomy change only says why the customer was unhappy in other words.
// The notifier holds exactly these kinds back and sends them together (live/coalesce.py,
// HELD_KINDS); tests/unit/test_live_coalesce.py fails when the two lists differ.
const QUIET_KINDS = new Set(["recoded"]);

export function initialState() {
  return {
    profile: null, cases: new Map(), unseen: new Set(), notLoaded: 0, shown: null, cursor: null,
  };
}

export function reduce(state, message) {
  switch (message && message.type) {
    case "hello":
      return hello(state, message.agent);
    case "snapshot":
      return snapshot(state, message);
    case "catchup":
      return catchUp(state, message);
    case "case.opened":
    case "case.updated":
      return message.case ? settle(applyCard(state, message.case, false)) : unchanged(state);
    case "case.changed":
      return changed(state, message);
    case "cases.changed":
      return changedAll(state, message);
    case "ui.open":
      return open(state, message.caseId);
    case "ui.close":
      return { state: { ...state, shown: null }, effects: [{ type: "panel.close" }] };
    case "ui.seen":
      return unchanged({ ...state, unseen: without(state.unseen, message.caseId) });
    case "ui.all_seen":
      return unchanged({ ...state, unseen: new Set() });
    case "ui.sign_out":
      return {
        state: { ...state, cases: new Map(), unseen: new Set(), shown: null, cursor: null },
        effects: [{ type: "panel.close" }],
      };
    case "api.case":
      return loaded(state, message.card);
    case "api.acted":
      return acted(state, message.card);
    default:
      return unchanged(state); // pongs, and kinds newer servers may send: ignoring them is safe
  }
}

function unchanged(state) {
  return { state, effects: [] };
}

function settle(outcome) {
  return { state: outcome.state, effects: outcome.effects };
}

function without(set, value) {
  if (!set.has(value)) return set;
  const copy = new Set(set);
  copy.delete(value);
  return copy;
}

function isValidCase(card) {
  return Boolean(card) && Number.isInteger(card.case_id) && Number.isInteger(card.seq);
}

// Also mid-connection, when an admin changed the agent: a case of a queue it lost leaves the
// screen (the snapshot that follows redraws the board).
function hello(state, agent) {
  const profile = normaliseProfile(agent);
  const effects = [];
  let shown = state.shown;
  if (shown && !seesQueue(profile, shown.queue)) {
    shown = null;
    effects.push({ type: "panel.close" });
  }
  effects.push({ type: "profile", profile });
  return { state: { ...state, profile, shown }, effects };
}

function snapshot(state, message) {
  const list = Array.isArray(message.cases) ? message.cases : [];
  const total = Number.isInteger(message.total) ? message.total : 0;
  const cases = new Map();
  for (const card of list) {
    if (isValidCase(card) && onBoard(card, state.profile)) cases.set(card.case_id, card);
  }
  const unseen = new Set([...state.unseen].filter((caseId) => cases.has(caseId)));
  const effects = [];
  let shown = state.shown;
  if (shown) {
    const card = cases.get(shown.case_id);
    if (card) shown = follow(shown, card, effects);
    effects.push({ type: "panel.resync" }); // what changed while we were away, history included
  }
  effects.push({ type: "live" });
  const notLoaded = Math.max(0, total - list.length);
  return { state: { ...state, cases, unseen, notLoaded, shown, cursor: cursorOf(message) },
    effects };
}

function cursorOf(message) {
  return typeof message.cursor === "string" ? message.cursor : null;
}

// One page of what changed while the console was away. Each card is applied as a live one
// would be (a new case of mine pops up), with one sound and one desktop note for the page
// however many cases it brings. The last page (it has the cursor) makes the board live.
const ONCE_PER_PAGE = new Set(["sound", "desktop"]);

function catchUp(state, message) {
  const list = Array.isArray(message.cases) ? message.cases : [];
  let next = state;
  const effects = [];
  for (const card of list) {
    const outcome = applyCard(next, card, false);
    next = outcome.state;
    for (const effect of outcome.effects) {
      if (!ONCE_PER_PAGE.has(effect.type) || !effects.some((e) => e.type === effect.type)) {
        effects.push(effect);
      }
    }
  }
  const cursor = cursorOf(message);
  if (cursor === null) return { state: next, effects };
  if (next.shown) effects.push({ type: "panel.resync" });
  effects.push({ type: "live" });
  return { state: { ...next, cursor }, effects };
}

// The panel follows every newer card of the case it shows, on the board or not.
function follow(shown, card, effects) {
  if (!shown || shown.case_id !== card.case_id || card.seq < shown.seq) return shown;
  effects.push({ type: "panel.update", card });
  return card;
}

// A newer card for a case. `quiet`: update what is shown, but never as news. `applied` says
// whether it was newer than what is shown.
function applyCard(state, incoming, quiet) {
  if (!isValidCase(incoming)) return { state, effects: [], applied: false };
  const known = state.cases.get(incoming.case_id);
  if (known && incoming.seq <= known.seq) return { state, effects: [], applied: false };
  // The router's alerts lack the workflow fields; keep what we know of those.
  const card = known ? { ...known, ...incoming } : incoming;
  const effects = [];
  const shown = follow(state.shown, card, effects);
  const cases = new Map(state.cases);
  let unseen = state.unseen;
  if (!onBoard(card, state.profile)) {
    cases.delete(card.case_id);
    unseen = without(unseen, card.case_id);
  } else {
    cases.set(card.case_id, card);
    if (!known && !quiet && !card.owner && isMine(card, state.profile)) {
      unseen = new Set(unseen).add(card.case_id);
      effects.push({ type: "toast", reason: "new", card }, { type: "sound" },
        { type: "desktop", card });
    }
  }
  return { state: { ...state, cases, unseen, shown }, effects, applied: true };
}

// A repeat (the outbox may send a change twice) is dropped, and announced no more.
function changed(state, message) {
  if (!message.case) return unchanged(state);
  const change = message.change;
  const quiet = Boolean(change) && QUIET_KINDS.has(change.kind);
  const outcome = applyCard(state, message.case, quiet);
  if (!outcome.applied || !change) return settle(outcome);
  return announce(outcome.state, outcome.effects, message.case, change);
}

// Several `case.changed` frames sent as one (the notifier sends a burst of re-codings so, one
// frame per sweep instead of one per case): each applied in turn, exactly as if it had come
// alone. Anything in the list that is not a `case.changed` is skipped.
function changedAll(state, message) {
  const list = Array.isArray(message.changes) ? message.changes : [];
  let next = state;
  const effects = [];
  for (const item of list) {
    if (!item || item.type !== "case.changed") continue;
    const outcome = changed(next, item);
    next = outcome.state;
    effects.push(...outcome.effects);
  }
  return { state: next, effects };
}

// What the SLA timers did that someone must act on: supervisors hear of every breach they
// can see; the agents of a queue hear of a claim that lapsed back to it; the owner and
// supervisors hear of a call-back the customer asked for that nobody made.
function announce(state, effects, incoming, change) {
  const card = state.cases.get(incoming.case_id) || incoming;
  if (change.kind === "sla_breached" && state.profile && state.profile.may_reassign) {
    effects.push({ type: "toast", reason: "sla_breached", card }, { type: "sound" });
    return { state, effects };
  }
  if (change.kind === "call_back_missed" && state.profile
    && (card.owner === state.profile.name || state.profile.may_reassign)) {
    effects.push({ type: "toast", reason: "call_back_missed", card }, { type: "sound" });
    return { state, effects };
  }
  if (change.kind === "claim_lapsed" && isMine(card, state.profile)
    && state.cases.has(card.case_id)) {
    effects.push({ type: "toast", reason: "claim_lapsed", card });
    return { state: { ...state, unseen: new Set(state.unseen).add(card.case_id) }, effects };
  }
  const news = offerNews(card, change, state.profile);
  if (news) effects.push({ type: "toast", reason: news.reason, card, detail: news.detail },
    { type: "sound" });
  return { state, effects };
}

// The case is in front of the agent now; its pop-up has done its job.
function open(state, caseId) {
  const unseen = without(state.unseen, caseId);
  const effects = [{ type: "dismiss_toasts", caseId }];
  const card = state.cases.get(caseId);
  if (!card) return { state: { ...state, unseen }, effects };
  effects.push({ type: "panel.open", card });
  return { state: { ...state, unseen, shown: card }, effects };
}

// The panel read the case from the API: newer than what it shows, it shows that.
function loaded(state, card) {
  const shown = state.shown;
  if (!isValidCase(card) || !shown || shown.case_id !== card.case_id || card.seq < shown.seq) {
    return unchanged(state);
  }
  return { state: { ...state, shown: card }, effects: [{ type: "panel.show", card }] };
}

// The answer to the agent's own action: a card like any live one (it also comes back live,
// and is dropped then by seq), and what the panel shows now.
function acted(state, card) {
  const outcome = applyCard(state, card, false);
  const effects = [...outcome.effects];
  const shown = isValidCase(card) ? follow(outcome.state.shown, card, effects)
    : outcome.state.shown;
  return { state: { ...outcome.state, shown }, effects };
}

// ---- what the board shows --------------------------------------------------------------------

// Cases that still need the customer contacted come first; among those, the most urgent,
// then the least time left. Resolved cases, only waiting to be closed, go last.
function sortKey(card, policy) {
  const due = dueAt(card, policy);
  const fallback = Date.parse(card.opened_at) || 0;
  return [card.status === "resolved" ? 1 : 0, card.priority, due === null ? fallback : due,
    fallback, card.case_id];
}

function byUrgency(policy) {
  return (a, b) => {
    const left = sortKey(a, policy);
    const right = sortKey(b, policy);
    for (let index = 0; index < left.length; index += 1) {
      if (left[index] !== right[index]) return left[index] - right[index];
    }
    return 0;
  };
}

function passesFilter(card, filter, profile) {
  if (filter === "unclaimed") return !card.owner;
  if (filter === "mine") return Boolean(profile) && card.owner === profile.name;
  return true;
}

// The cards to list, top to bottom, under a filter ("all", "unclaimed" or "mine").
export function boardRows(state, filter) {
  const profile = state.profile;
  return [...state.cases.values()]
    .filter((card) => passesFilter(card, filter, profile))
    .sort(byUrgency(profile && profile.policy));
}

// The counts over the board, and the page title that tells a background tab what is new.
export function summarise(state) {
  const all = [...state.cases.values()];
  const unseen = state.unseen.size;
  return {
    total: all.length,
    waiting: all.filter((c) => !c.owner && c.status !== "resolved").length,
    urgent: all.filter((c) => c.priority === 1 && c.status !== "resolved").length,
    unseen,
    notLoaded: state.notLoaded,
    title: unseen > 0 ? `(${unseen}) ${TITLE}` : TITLE,
  };
}
