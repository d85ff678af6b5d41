// The case panel: one case in full (customer, interaction, scores, reasons with their evidence,
// the comment, attempts, history) with the actions its state allows and the guidance that fits
// that moment. Which card it shows is the board state's business (`shown`): the console calls
// open/update/show/close as the state's effects say, and the panel reports what it reads or
// changes through the API back as `api.case` / `api.acted` messages. Every action is a call to
// the case API; its result comes back as a live change like anybody else's, so all consoles
// stay alike.

import { api } from "./api.js";
import { needsMoreAttempts, renderActions } from "./case-actions.js";
import { loadStory } from "./case-story.js";
import {
  button, countdown, lateAnswerFlag, make, slaBadge, statusBadge,
} from "./dom.js";
import { createOffers } from "./case-offers.js";
import { renderEvidence } from "./evidence-view.js";
import {
  clock, customerName, describeScore, dueAt, humanise, priorityClass, slaState,
} from "./format.js";
import { describeOfferChange } from "./offer-rules.js";
import { ticketLinks } from "./helpdesk-links.js";
import { historyLabel, rootCauseLabel } from "./profile.js";
import { mailtoHref, telHref } from "./reach.js";
import { callBackBadge, describeAttempt, outcomeOf } from "./call-outcomes.js";
import { forgetCallWarning, renderCallTime } from "./call-time.js";
import { renderCallWords } from "./call-guidance.js";
import { describeRevision, describeTriggers } from "./triggers.js";

const GUIDANCE = {
  unowned: [
    "Own the follow-up: claim the case and call the customer yourself. Never ask them to call us.",
  ],
  claimed: [
    "Reach the customer two-way first: phone, video or in person. Email only once those fail.",
    "Introduce yourself as the person who will see this through.",
  ],
  contacted: [
    "Listen first: let the customer tell the whole story before you explain anything.",
    "Apologise sincerely for what they went through.",
    "Offer options (a credit, a fix, a call-back) and let the customer choose.",
  ],
  resolved: [
    "Follow up as promised: check that what was offered actually happened, then close.",
  ],
  unreachable: [
    "Leave one last message saying who you are and how to reach you directly, then close.",
  ],
};

// A link that calls or writes to the customer, or the value as text when it is not dialable or
// not an address (see reach.js).
function contactLink(value, href) {
  if (value === undefined || value === null || value === "") return value;
  const target = href(value);
  if (!target) return String(value);
  const link = make("a", "contact-link", value);
  link.href = target;
  return link;
}

// `dispatch(message)`: hands the board state what the panel learned or did (see above).
export function createCasePanel({ root, dispatch }) {
  let profile = null;
  let current = null; // the card shown
  let actionsKey = ""; // what the action forms were built for; rebuilt only when it changes
  let refreshTimer = null;
  let offers = null; // the offers section (case-offers.js), made with the panel's skeleton

  function setProfile(value) {
    profile = value;
    actionsKey = "";
    if (offers) offers.setProfile(value);
    if (current) render(current);
  }

  function open(card) {
    if (!current || current.case_id !== card.case_id) actionsKey = "";
    current = card;
    root.hidden = false;
    render(card);
    refresh();
  }

  function close() {
    current = null;
    actionsKey = "";
    forgetCallWarning();
    root.hidden = true;
    root.replaceChildren();
  }

  // A newer card for the shown case (a live change, or the answer to our own action): show it,
  // and read attempts and history again soon.
  function update(card) {
    current = card;
    render(card);
    scheduleRefresh();
  }

  // A newer card the panel read itself.
  function show(card) {
    current = card;
    render(card);
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 50);
  }

  async function refresh() {
    if (!current) return;
    const caseId = current.case_id;
    try {
      const detail = await api("GET", `/api/cases/${caseId}`);
      if (!current || current.case_id !== caseId) return;
      dispatch({ type: "api.case", card: detail.case });
      renderTickets(ticketLinks(detail));
      renderAttempts(detail.attempts);
      renderHistory(detail.history);
      loadStory(section("detail-story"), { card: current, profile, dispatch, showError,
        stillShown: () => current !== null && current.case_id === caseId });
      offers.refresh(caseId);
    } catch (error) {
      showError(error);
    }
  }

  // ---- rendering ---------------------------------------------------------------------------

  function section(id, title) {
    let node = root.querySelector(`#${id}`);
    if (!node) {
      node = make("section", `detail-section ${id}`);
      node.id = id;
      if (title) node.append(make("h3", "", title));
      root.append(node);
    }
    return node;
  }

  function render(card) {
    if (!root.querySelector("#detail-head")) buildSkeleton();
    renderHead(card);
    renderFacts(card);
    renderGuidance(card);
    const key = [card.case_id, card.status, card.owner, card.failed_attempts,
      profile && profile.name].join("|");
    if (key !== actionsKey) {
      actionsKey = key;
      renderActions(section("detail-actions"),
        { card, profile, act, showError, latest: () => current });
    }
    offers.render(card);
  }

  function buildSkeleton() {
    root.replaceChildren();
    const head = make("header", "detail-head");
    head.id = "detail-head";
    root.append(head);
    const error = make("p", "detail-error");
    error.id = "detail-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    root.append(error);
    section("detail-facts");
    section("detail-tickets").hidden = true;
    section("detail-story", "The story so far");
    section("detail-guidance", "Guidance");
    offers = createOffers({
      section: section("detail-offers"),
      onActed: (card) => dispatch({ type: "api.acted", card }),
      showError,
    });
    offers.setProfile(profile);
    section("detail-actions");
    section("detail-attempts", "Contact attempts");
    section("detail-history", "History");
  }

  function renderHead(card) {
    const head = root.querySelector("#detail-head");
    head.className = `detail-head ${priorityClass(card.priority)}`;
    head.replaceChildren();
    const top = make("div", "detail-top");
    top.append(make("span", "priority", `P${card.priority}`));
    top.append(make("h2", "detail-customer", customerName(card)));
    top.append(button("×", "detail-close", () => dispatch({ type: "ui.close" })));
    top.lastChild.setAttribute("aria-label", "Close case");
    head.append(top);
    const line = make("div", "detail-line");
    const status = statusBadge(card, profile);
    status.id = "detail-status";
    line.append(status);
    const owner = make("span", "detail-owner", card.owner ? `owned by ${card.owner}` : "unowned");
    owner.id = "detail-owner";
    line.append(owner);
    line.append(make("span", "detail-queue", `queue ${card.queue}`));
    line.append(make("span", "case-id", `#${card.case_id}`));
    const sla = slaBadge(card);
    if (sla) line.append(sla);
    const callBack = callBackBadge(card);
    if (callBack) line.append(callBack);
    head.append(line);
    const due = dueAt(card, profile && profile.policy);
    if (due !== null && !["resolved", "closed", "unreachable"].includes(card.status)) {
      head.append(countdown("div", due, slaState(card)));
    }
  }

  function renderFacts(card) {
    const facts = section("detail-facts");
    facts.replaceChildren();
    const customer = card.customer || {};
    const interaction = card.interaction || {};
    const grid = make("dl", "facts");
    const add = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      grid.append(make("dt", "", label));
      const cell = make("dd", "");
      cell.append(value);
      grid.append(cell);
    };
    add("Phone", contactLink(customer.phone, telHref));
    add("Email", contactLink(customer.email, mailtoHref));
    add("Segment", customer.segment);
    add("Channel", interaction.channel);
    add("Agent", interaction.agent);
    add("Team", interaction.team);
    add("Scores", (card.scores || []).map(describeScore).join(" · "));
    if (card.follow_up_requested) add("Asked", "for a call back");
    add("Survey", lateAnswerFlag(card));
    if (card.root_cause) add("Root cause", rootCauseLabel(card.root_cause, profile));
    if (card.customer_reaction) add("Reaction", humanise(card.customer_reaction));
    facts.append(grid);
    renderCallTime(grid, card);

    renderEvidence(facts, card);
  }

  function renderGuidance(card) {
    const node = section("detail-guidance", "Guidance");
    const unowned = !card.owner && ["open", "reopened"].includes(card.status);
    const tips = GUIDANCE[unowned ? "unowned" : card.status] || [];
    node.hidden = tips.length === 0;
    const list = make("ul", "guidance");
    for (const tip of tips) list.append(make("li", "", tip));
    node.replaceChildren(make("h3", "", "Guidance"), list);
    renderCallWords(node, card, profile);
    if (node.querySelector(".call-words")) node.hidden = false;
  }

  // ---- actions -----------------------------------------------------------------------------

  async function act(path, body) {
    if (!current) return false;
    const caseId = current.case_id;
    clearError();
    for (const node of root.querySelectorAll("#detail-actions button")) node.disabled = true;
    try {
      const card = await api("POST", `/api/cases/${caseId}/${path}`, body || {});
      dispatch({ type: "api.acted", card });
      return true;
    } catch (error) {
      showError(error);
      return false;
    } finally {
      for (const node of root.querySelectorAll("#detail-actions button")) {
        node.disabled = node.classList.contains("action-unreachable")
          && current && needsMoreAttempts(current, profile);
      }
    }
  }

  function clearError() {
    const error = root.querySelector("#detail-error");
    if (error) error.hidden = true;
  }

  function showError(error) {
    const node = root.querySelector("#detail-error");
    if (!node) return;
    node.textContent = error && error.message ? error.message : "Something went wrong.";
    node.hidden = false;
    if (error && error.status === 409) scheduleRefresh();
  }

  // ---- helpdesk tickets, attempts and history ----------------------------------------------

  function renderTickets(links) {
    const node = section("detail-tickets");
    node.hidden = links.length === 0;
    const line = make("p", "tickets");
    for (const { label, href } of links) {
      if (href) {
        const link = make("a", "ticket-link", label);
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.append(link, " ");
      } else {
        line.append(make("span", "ticket-link", label), " ");
      }
    }
    node.replaceChildren(line);
  }

  function renderAttempts(attempts) {
    const node = section("detail-attempts", "Contact attempts");
    const list = make("ol", "attempts");
    for (const attempt of attempts) {
      const outcome = outcomeOf(attempt);
      const kind = attempt.reached ? "reached" : outcome === "call_later" ? "later" : "failed";
      const item = make("li", `attempt ${kind} o-${outcome}`);
      item.append(make("span", "attempt-time", clock(attempt.attempted_at)));
      item.append(make("span", "attempt-result", describeAttempt(attempt, profile)));
      item.append(make("span", "attempt-agent", attempt.agent));
      if (attempt.note) item.append(make("div", "attempt-note", attempt.note));
      list.append(item);
    }
    node.replaceChildren(make("h3", "", "Contact attempts"));
    node.append(attempts.length ? list : make("p", "muted", "None yet."));
  }

  function describeChange(entry) {
    const data = entry.data || {};
    switch (entry.kind) {
      case "opened": {
        const where = `in queue ${data.queue || "?"}, priority ${data.priority || "?"}`;
        const why = describeTriggers(data.triggers, (code) => rootCauseLabel(code, profile));
        return why ? `${where}, ${why}` : where;
      }
      case "revised":
        return describeRevision(data, (code) => rootCauseLabel(code, profile));
      case "claimed":
        return `by ${data.owner || entry.actor}`;
      case "contact_attempted":
        return describeAttempt(data, profile);
      case "resolved": {
        const offer = data.resolution || {};
        const parts = [`root cause ${rootCauseLabel(data.root_cause, profile)}`];
        if (offer.apology) parts.push("apology");
        if (offer.compensation) {
          parts.push(`compensation ${offer.compensation.value} ${offer.compensation.currency}`);
        }
        if (offer.process_change) parts.push("process change");
        if (data.customer_reaction) parts.push(`customer ${humanise(data.customer_reaction)}`);
        return parts.join(" · ");
      }
      case "reassigned":
        return `to ${data.to_owner || "nobody"} in ${data.to_queue}`;
      case "reasons_reviewed": {
        if (data.verdict === "confirmed") return "confirmed as coded";
        const codes = (data.codes || []).map((code) => rootCauseLabel(code, profile));
        const parts = [`corrected to ${codes.length ? codes.join(", ") : "no reason code"}`];
        if (data.follow_up_requested) parts.push("asked to be contacted");
        return parts.join(" · ");
      }
      case "sla_warning":
        return data.contact_due_at ? `contact due at ${clock(data.contact_due_at)}` : "";
      case "sla_breached":
        return data.to_queue ? `no contact attempt; escalated to ${data.to_queue}`
          : "no contact attempt by the deadline";
      case "call_back_missed":
        return "nobody called back at the time the customer asked for";
      case "claim_lapsed":
        return `${data.previous_owner || "the owner"} made no attempt; back in ${
          data.to_queue || "the queue"}, unowned`;
      default:
        return entry.kind.startsWith("offer_") ? describeOfferChange(entry) : "";
    }
  }

  function renderHistory(history) {
    const node = section("detail-history", "History");
    const list = make("ol", "timeline");
    for (const entry of history) {
      const item = make("li", `event k-${entry.kind}`);
      item.dataset.seq = String(entry.seq);
      const line = make("div", "event-line");
      line.append(make("span", "event-kind", historyLabel(entry.kind, profile)));
      const summary = describeChange(entry);
      if (summary) line.append(make("span", "event-summary", summary));
      line.append(make("span", "event-meta", `${entry.actor} · ${clock(entry.occurred_at)}`));
      item.append(line);
      const data = entry.data || {};
      const text = data.text || data.note || data.reason || data.follow_up_outcome;
      if (text) item.append(make("div", "event-text", text));
      list.append(item);
    }
    node.replaceChildren(make("h3", "", "History"), list);
  }

  return { setProfile, open, close, update, show, refresh };
}
