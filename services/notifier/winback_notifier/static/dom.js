// The one way elements get text. Everything a customer or an agent wrote is untrusted: it is
// only ever set with textContent or attributes, never parsed as HTML.

import { ago, clock, describeTimeLeft, humanise, lateAnswerAt, slaState } from "./format.js";

export function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function button(text, className, onClick) {
  const node = make("button", className || "", text);
  node.type = "button";
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

export function timeElement(timestamp, label) {
  const node = make("time", "ago", ago(timestamp));
  node.dateTime = timestamp;
  const date = new Date(timestamp);
  if (!Number.isNaN(date.getTime())) node.title = `${label || "At"} ${date.toLocaleString()}`;
  return node;
}

// "Answered 9 days ago" for a card the customer answered long before it opened, or null;
// its time moves on with the others (refreshTimes).
export function lateAnswerFlag(card, tag = "span") {
  const at = lateAnswerAt(card);
  if (at === null) return null;
  const flag = make(tag, "flag late-answer", "Answered ");
  flag.append(timeElement(at, "The customer answered at"));
  return flag;
}

// Time left to the contact deadline `due`; refreshTimes (board-view.js) keeps it moving.
// `sla` (slaState) "warned" turns it amber: green "contact within 1 min" beside an
// "SLA warning" badge told an agent two things at once.
export function countdown(tag, due, sla = "") {
  const left = describeTimeLeft(due);
  const tone = `${left.overdue ? " overdue" : ""}${sla === "warned" ? " warned" : ""}`;
  const node = make(tag, `time-left${tone}`, left.text);
  node.dataset.due = String(due);
  return node;
}

// A status as a badge: the status word (styled by its class), the server's label on hover.
export function statusBadge(card, profile) {
  const node = make("span", `status-badge s-${card.status}`, humanise(card.status));
  const label = profile && profile.vocabulary.status_labels[card.status];
  if (label) node.title = label;
  return node;
}

// Where the case stands against its deadline, as the SLA timers recorded it: a breach stays
// on the card as a fact; a warning only while nobody has tried yet.
export function slaBadge(card) {
  const state = slaState(card);
  if (state === "breached") {
    const node = make("span", "sla-badge sla-breached", "SLA breached");
    node.title = `Deadline passed without a contact attempt (${clock(card.sla_breached_at)})`;
    return node;
  }
  if (state === "warned") {
    const node = make("span", "sla-badge sla-warning", "SLA warning");
    node.title = "The contact deadline is near and nobody has tried yet";
    return node;
  }
  return null;
}
