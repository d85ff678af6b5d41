// How cards read: scores, names, times and deadlines as text. Pure functions of their arguments
// (and of the clock, for the relative times), so the board state and the views share them and
// tests run them without a browser.

export function priorityClass(priority) {
  return `p${Math.min(Math.max(Number(priority) || 4, 1), 4)}`;
}

export function formatNumber(value) {
  const number = Number(value);
  return Number.isInteger(number) ? String(number) : number.toFixed(1);
}

function fraction(score) {
  const span = score.scale_max - score.scale_min;
  return span > 0 ? (score.value - score.scale_min) / span : 1;
}

export function worstScore(scores) {
  const usable = (scores || []).filter((s) => s && typeof s.value === "number");
  if (usable.length === 0) return null;
  return usable.reduce((worst, s) => (fraction(s) < fraction(worst) ? s : worst));
}

export function describeScore(score) {
  const kind = String(score.kind || "score").toUpperCase();
  return `${kind} ${formatNumber(score.value)}/${formatNumber(score.scale_max)}`;
}

export function customerName(card) {
  const customer = card.customer || {};
  return customer.name || customer.email || customer.id || "Unknown customer";
}

export function humanise(word) {
  return String(word || "").replace(/_/g, " ");
}

export function reasonLabels(card) {
  return (card.reasons || []).map((r) => r.label || r.code).filter(Boolean);
}

// A span of at least 45 s in words: "3 min", "2 h 5 min", "1 day".
function span(seconds) {
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "1 day" : `${days} days`;
}

export function ago(timestamp, now = Date.now()) {
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return "";
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  return seconds < 45 ? "just now" : `${span(seconds)} ago`;
}

// An answer that reached us an hour or more after the customer gave it (a vendor's backlog,
// an import) is not the fresh complaint a pop-up suggests: the agent should know before
// calling ("you told us last week ..."). An hour is past any vendor's own retries.
export const LATE_ANSWER_MS = 3600 * 1000;

// The card's submission time when the customer answered that long before the case opened,
// else null.
export function lateAnswerAt(card) {
  const submitted = Date.parse(card.submitted_at);
  const opened = Date.parse(card.opened_at);
  if (Number.isNaN(submitted) || Number.isNaN(opened)) return null;
  return opened - submitted >= LATE_ANSWER_MS ? card.submitted_at : null;
}

// A moment that may still be ahead (a deadline): "in 4 min" before it, as `ago` after it.
// `ago` alone reads every future moment as "just now", which told supervisors a case at risk
// was due this instant when it still had minutes left.
export function fromNow(timestamp, now = Date.now()) {
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return "";
  const ahead = Math.round((then - now) / 1000);
  return ahead >= 45 ? `in ${span(ahead)}` : ago(timestamp, now);
}

export function clock(timestamp) {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// The contact deadline: when someone must have tried to reach the customer. It is stored on
// the case when it opens (and is what the SLA timers fire at); the first attempt stops the
// clock. A card from an older server without it falls back to opening time + target.
export function dueAt(card, policy) {
  if (card.first_attempt_at || card.first_contact_at) return null;
  const stored = card.contact_due_at ? Date.parse(card.contact_due_at) : NaN;
  if (!Number.isNaN(stored)) return stored;
  const minutes = policy && policy.contact_target_minutes
    ? policy.contact_target_minutes[String(card.priority)]
    : null;
  const opened = Date.parse(card.opened_at);
  if (!minutes || Number.isNaN(opened)) return null;
  return opened + minutes * 60000;
}

// Where a case stands against its deadline, as the SLA timers recorded it: a breach stays as
// a fact ("breached"); a warning ("warned") only while nobody has tried yet; a finished case
// has neither. The badge and the countdown's colour both read it, so they cannot disagree.
export function slaState(card) {
  if (["resolved", "closed"].includes(card.status)) return "";
  if (card.sla_breached_at) return "breached";
  if (card.sla_warned_at && !card.first_attempt_at) return "warned";
  return "";
}

export function describeTimeLeft(due) {
  const seconds = Math.round((due - Date.now()) / 1000);
  const span = Math.abs(seconds);
  const text = span < 60 ? `${span} s` : span < 3600 ? `${Math.floor(span / 60)} min`
    : `${Math.floor(span / 3600)} h ${Math.floor((span % 3600) / 60)} min`;
  return seconds >= 0 ? { text: `contact within ${text}`, overdue: false }
    : { text: `contact overdue by ${text}`, overdue: true };
}
