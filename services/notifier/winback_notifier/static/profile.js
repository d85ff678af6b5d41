// The signed-in agent as the server's `hello` describes it, and what follows from it: which
// cases its board shows, which are news for it, and which actions a case allows it. The
// console keeps no copy of the workflow or the case vocabulary; it reads both from `hello`
// (`actions`: the transition table for this agent; `vocabulary`: board statuses and labels).
// Pure functions: no DOM, so tests run them in Node.

import { humanise } from "./format.js";

const DEFAULT_POLICY = {
  unreachable_after_attempts: 3, contact_target_minutes: {}, channels: ["phone", "email"],
  two_way_channels: ["phone"],
};

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function normaliseProfile(agent) {
  const value = agent || {};
  const vocabulary = isObject(value.vocabulary) ? value.vocabulary : {};
  return {
    name: value.name || "",
    role: value.role || "",
    queues: Array.isArray(value.queues) ? value.queues : [],
    sees_all_queues: Boolean(value.sees_all_queues),
    may_reassign: Boolean(value.may_reassign),
    policy: value.policy || DEFAULT_POLICY,
    root_causes: Array.isArray(value.root_causes) ? value.root_causes : [],
    actions: isObject(value.actions) ? value.actions : {},
    offers: isObject(value.offers) ? value.offers : null,
    vocabulary: {
      // Unknown (a server older than this console): show what the server sends, drop nothing.
      board_statuses: Array.isArray(vocabulary.board_statuses) ? vocabulary.board_statuses
        : null,
      status_labels: isObject(vocabulary.status_labels) ? vocabulary.status_labels : {},
      history_labels: isObject(vocabulary.history_labels) ? vocabulary.history_labels : {},
      attempt_outcomes: isObject(vocabulary.attempt_outcomes) ? vocabulary.attempt_outcomes
        : {},
    },
  };
}

export function describeAgent(agent) {
  if (!agent || !agent.name) return "";
  return agent.role ? `${agent.name} · ${agent.role}` : String(agent.name);
}

// Supervisors and admins read the ops page (the ops API refuses everyone else with 403, by
// the same rule: winback_shared.auth.current_supervisor); agents get no link to it.
export function mayReadOps(profile) {
  return Boolean(profile) && ["supervisor", "admin"].includes(profile.role);
}

// A case of one of the agent's own queues: new ones there are news for it. Supervisors see
// every queue but hear only of their own.
export function isMine(card, profile) {
  return Boolean(profile) && profile.queues.includes(card.queue);
}

export function onBoard(card, profile) {
  if (!profile) return true;
  const statuses = profile.vocabulary.board_statuses;
  return (statuses === null || statuses.includes(card.status)) && seesQueue(profile, card.queue);
}

export function seesQueue(profile, queue) {
  return profile.sees_all_queues || profile.queues.includes(queue);
}

// How the agent stands to the case, in the words of the server's table.
export function relationTo(card, profile) {
  if (!card.owner) return "unowned";
  return profile && card.owner === profile.name ? "owner" : "other";
}

// The actions (history kinds, as the server names them) the rules allow this agent on this
// case now, in workflow order.
export function allowedActions(card, profile) {
  if (!profile) return [];
  const byStatus = profile.actions[relationTo(card, profile)] || {};
  return Array.isArray(byStatus[card.status]) ? byStatus[card.status] : [];
}

// The actions a card on the board offers itself (the rest take the case panel): claiming,
// the one step every new case needs first, when the table allows it to this agent.
const BOARD_ACTIONS = ["claimed"];

export function boardActions(card, profile) {
  return allowedActions(card, profile).filter((action) => BOARD_ACTIONS.includes(action));
}

export function historyLabel(kind, profile) {
  const labels = profile ? profile.vocabulary.history_labels : {};
  return labels[kind] || humanise(kind);
}

export function rootCauseLabel(code, profile) {
  const found = ((profile && profile.root_causes) || []).find((c) => c.code === code);
  return found ? found.label : code;
}
