// What the console knows about offers without a DOM: whether this agent may make one or answer
// one, what one would become against the limit, and what a live offer change tells this
// console (a pop-up, or nothing). Pure functions: the Node tests run them, and the board
// reducer asks `offerNews` which changes pop up. The rules themselves are the server's.

import { humanise } from "./format.js";

export const STATUS_TEXT = {
  granted: "granted",
  pending: "waiting for a supervisor",
  approved: "approved",
  declined: "declined",
};

export function money(amount, currency) {
  return `${Number(amount).toFixed(2)} ${currency}`;
}

// Whether this agent may make an offer on this case now: the statuses come from `hello`,
// and the owner (or a supervisor, who may act on any case) makes them.
export function mayOffer(card, profile) {
  if (!card || !profile || !profile.offers) return false;
  if (!profile.offers.statuses.includes(card.status) || !card.owner) return false;
  return card.owner === profile.name || profile.may_reassign;
}

// A supervisor answers someone else's pending request.
export function mayAnswer(offer, profile) {
  return Boolean(profile) && profile.may_reassign && offer.status === "pending"
    && offer.requested_by !== profile.name;
}

// What an offer of `amount` in `currency` would be now: granted or asked (the server decides;
// this only says so before the agent clicks).
export function foresee(view, amount, currency) {
  if (!view || !(amount > 0)) return null;
  const limit = (view.limits || []).find((l) => l.currency === currency);
  const max = limit ? limit.max_amount : 0;
  const committed = view.currency === currency ? view.committed : 0;
  return committed + amount <= max + 1e-9 ? "granted" : "pending";
}

export function limitText(view, currency) {
  if (!view) return "";
  const limit = (view.limits || []).find((l) => l.currency === currency);
  const max = limit ? limit.max_amount : 0;
  const committed = view.currency === currency ? view.committed : 0;
  const given = committed ? `; ${money(committed, currency)} offered on this case` : "";
  return `Your limit here: ${money(max, currency)}${given}. Above it, a supervisor is asked.`;
}

// What a pop-up says about an offer change, or null when it is no news for this console:
// supervisors hear of requests (and overdue ones) they did not make; the owner hears the answer.
export function offerNews(card, change, profile) {
  if (!change || !profile) return null;
  const data = change.data || {};
  const what = data.amount !== undefined
    ? `${money(data.amount, data.currency)} ${humanise(data.kind || "")}`.trim() : "";
  if (["offer_requested", "offer_overdue"].includes(change.kind)) {
    if (!profile.may_reassign || data.requested_by === profile.name) return null;
    const overdue = change.kind === "offer_overdue";
    return {
      reason: change.kind,
      detail: `${overdue ? "Still waiting: " : ""}${data.requested_by || change.actor} asks ${what}`,
    };
  }
  if (["offer_approved", "offer_declined"].includes(change.kind)) {
    if (card.owner !== profile.name || change.actor === profile.name) return null;
    const verb = change.kind === "offer_approved" ? "approved" : "declined";
    const why = data.reason ? `: ${data.reason}` : "";
    return { reason: change.kind, detail: `${change.actor} ${verb} ${what}${why}` };
  }
  return null;
}

// What resolving will record: the offers given (granted or approved) are its compensation.
export function givenText(offers) {
  const given = (offers || []).filter((o) => ["granted", "approved"].includes(o.status));
  if (given.length === 0) return "";
  const total = given.reduce((sum, o) => sum + Number(o.amount), 0);
  return `Given: ${money(total, given[0].currency)}. Resolving records it as the compensation;`
    + " leave the resolution's compensation empty.";
}

export function describeOfferChange(entry) {
  const data = entry.data || {};
  if (data.amount === undefined) return "";
  return `${money(data.amount, data.currency)} ${humanise(data.kind || "")}`;
}

// The pop-ups a supervisor's console shows when it connects: every request waiting for an
// answer that someone else made, on a case its board holds (the card the toast describes).
export function pendingNews(offers, cases, profile) {
  if (!profile || !profile.may_reassign) return [];
  return (offers || [])
    .filter((o) => o.requested_by !== profile.name && cases.has(o.case_id))
    .map((o) => ({
      card: cases.get(o.case_id),
      reason: o.overdue_at ? "offer_overdue" : "offer_requested",
      detail: `${o.overdue_at ? "Still waiting: " : ""}${o.requested_by} asks ${
        money(o.amount, o.currency)} ${humanise(o.kind)}`,
    }));
}
