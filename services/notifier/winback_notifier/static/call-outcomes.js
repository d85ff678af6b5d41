// How a call went, as the console names and shows it: the outcomes an attempt is logged with
// (their words come from the server's `hello`, vocabulary.attempt_outcomes, in its order), the
// key that picks each, and how an attempt or a call-back reads on the board and in the panel.
// Attempts logged before outcomes existed carry only `reached`; they read as "reached" or
// "no answer", as they always did. Pure apart from `callBackBadge`, which only makes elements.

import { make } from "./dom.js";
import { humanise } from "./format.js";

// The server's order when it sends one; this one for an older server.
const FALLBACK = {
  reached: "Reached",
  no_answer: "No answer",
  voicemail: "Voicemail left",
  wrong_number: "Wrong number",
  call_later: "Call later",
};

// The buttons' classes: the first two are what the attempt form always had.
export const OUTCOME_CLASSES = {
  reached: "primary action-reached",
  no_answer: "secondary action-failed",
  voicemail: "secondary action-voicemail",
  wrong_number: "secondary action-wrong-number",
  call_later: "secondary action-call-later",
};

// [[outcome, label, key]], keys "1".."9" in order.
export function outcomeChoices(profile) {
  const sent = profile && profile.vocabulary && profile.vocabulary.attempt_outcomes;
  const labels = sent && Object.keys(sent).length ? sent : FALLBACK;
  return Object.entries(labels).map(([outcome, label], index) => [outcome, label,
    String(index + 1)]);
}

// An attempt's outcome, whether it was logged with one or before outcomes existed.
export function outcomeOf(attempt) {
  if (attempt && attempt.outcome) return attempt.outcome;
  return attempt && attempt.reached ? "reached" : "no_answer";
}

export function outcomeLabel(outcome, profile) {
  const sent = profile && profile.vocabulary && profile.vocabulary.attempt_outcomes;
  return (sent && sent[outcome]) || FALLBACK[outcome] || humanise(outcome);
}

// A moment as hours and minutes on the agent's clock (a call-back is agreed to the minute);
// with the date too when it is not today.
export function callBackTime(timestamp, now = Date.now()) {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const sameDay = new Date(now).toDateString() === date.toDateString();
  return sameDay ? time
    : `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })} ${time}`;
}

// "Phone: voicemail left", "Phone: call later, at 15:00": a history entry or an attempt.
export function describeAttempt(data, profile) {
  const outcome = outcomeOf(data);
  let text = `${humanise(data.channel)}: ${outcomeLabel(outcome, profile).toLowerCase()}`;
  if (outcome === "call_later" && data.call_back_at) text += `, at ${callBackTime(data.call_back_at)}`;
  return text;
}

// A card's call-back, if the customer asked for one: when, and whether it was missed.
export function callBack(card) {
  if (!card || !card.call_back_due_at || ["resolved", "closed"].includes(card.status)) {
    return null;
  }
  const due = Date.parse(card.call_back_due_at);
  if (Number.isNaN(due)) return null;
  return { due, missed: Boolean(card.call_back_missed_at) };
}

export function callBackBadge(card) {
  const asked = callBack(card);
  if (!asked) return null;
  const at = callBackTime(card.call_back_due_at);
  const node = make("span", `call-back-badge${asked.missed ? " call-back-missed" : ""}`,
    asked.missed ? `Call-back missed (${at})` : `Call back at ${at}`);
  node.title = asked.missed
    ? "The customer asked to be called back at this time and nobody has called yet"
    : "The customer asked to be called back at this time: the case's next deadline";
  node.dataset.due = String(asked.due);
  return node;
}
