// The story so far, as words and decisions (pure, so Node tests run it): what triggered the
// survey, how the customer's earlier cases ended, which linked open cases the agent may claim
// with this one, and who else already owns one. case-story.js draws it.

import { humanise } from "./format.js";
import { rootCauseLabel } from "./profile.js";

const MATCHED_BY = { id: "same customer id", email: "same e-mail", phone: "same phone" };

// "phone · call-5521 · with jmoreau · team Billing T2": the interaction the survey rated.
export function describeInteraction(interaction) {
  const it = interaction || {};
  return [
    it.channel && humanise(it.channel),
    it.id,
    it.agent && `with ${it.agent}`,
    it.team && `team ${it.team}`,
  ].filter(Boolean).join(" · ");
}

// How an earlier case stands or ended: status, owner, root cause, what was offered, reaction.
export function describeOutcome(outcome, profile) {
  if (!outcome) return "no case opened";
  const parts = [`case #${outcome.case_id} ${humanise(outcome.status)}`];
  if (outcome.owner) parts.push(`by ${outcome.owner}`);
  if (outcome.root_cause) {
    parts.push(`root cause ${outcome.root_cause_label || rootCauseLabel(outcome.root_cause, profile)}`);
  }
  const offer = outcome.resolution || {};
  const offered = [
    offer.apology && "apology",
    offer.explanation && "explanation",
    offer.compensation && `compensation ${offer.compensation.value} ${offer.compensation.currency}`,
    offer.process_change && "process change",
  ].filter(Boolean);
  if (offered.length) parts.push(`offered ${offered.join(", ")}`);
  if (outcome.customer_reaction) parts.push(`customer ${humanise(outcome.customer_reaction)}`);
  if (outcome.follow_up_outcome) parts.push(`follow-up: ${outcome.follow_up_outcome}`);
  return parts.join(" · ");
}

export function describeMatch(matchedBy) {
  return (matchedBy || []).map((key) => MATCHED_BY[key] || key).join(", ");
}

// "Repeat customer: 2 earlier responses in the last 90 days", or "" for a first complaint.
export function repeatText(story) {
  if (!story || !story.repeat) return "";
  const since = Date.parse(story.interaction && (story.interaction.submitted_at
    || story.interaction.received_at));
  const windowMs = story.repeat_window_days * 86400000;
  const earlier = story.responses.filter((response) => response.before
    && (Number.isNaN(since) || since - Date.parse(response.answered_at) <= windowMs));
  const count = earlier.length;
  return `Repeat customer: ${count} earlier response${count === 1 ? "" : "s"} in the last ${
    story.repeat_window_days} days`;
}

// The customer's other open cases another agent owns: talk to them before calling.
export function ownedByOthers(story) {
  return (story ? story.open_cases : []).filter((linked) => linked.owner && !linked.mine);
}

// What to offer beside this case: claim the linked open cases with it, when this case is the
// agent's or unowned and some linked ones are free. `null` when there is nothing to offer.
export function claimOffer(story, card, profile) {
  if (!story || !card) return null;
  const linked = story.open_cases.filter((other) => other.claimable).map((other) => other.case_id);
  if (linked.length === 0) return null;
  const mine = Boolean(card.owner) && profile && card.owner === profile.name;
  if (card.owner && !mine) return null;
  if (["resolved", "closed"].includes(card.status)) return null;
  const cases = linked.length === 1 ? "1 linked case" : `${linked.length} linked cases`;
  return { linked, label: mine ? `Also claim ${cases}` : `Claim this and ${cases}` };
}
