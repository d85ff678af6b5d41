// The board drawn from the board state: the list of cases, most urgent first, the counts in
// the top bar and the page title. Rows are kept per case and rebuilt only when its seq
// changes, so a long board redraws cheaply on every message.

import { boardRows, summarise } from "./board-state.js";
import {
  button, countdown, lateAnswerFlag, make, slaBadge, statusBadge, timeElement,
} from "./dom.js";
import {
  ago, customerName, describeScore, describeTimeLeft, dueAt, priorityClass, slaState, worstScore,
} from "./format.js";
import { boardActions } from "./profile.js";
import { callBackBadge } from "./call-outcomes.js";

// `onClaim(caseId)` claims through the case API and resolves once the board has the new card
// (rejects with the API's error, shown on the card).
export function createBoardView({ list, empty, summary, markSeen, onOpen, onSeen, onClaim }) {
  const rows = new Map(); // case_id -> {seq, node}

  function render(state, filter) {
    const ordered = boardRows(state, filter);
    const listed = new Set(ordered.map((card) => card.case_id));
    for (const [caseId, row] of rows) {
      if (!listed.has(caseId)) {
        row.node.remove();
        rows.delete(caseId);
      }
    }
    const selected = state.shown ? state.shown.case_id : null;
    ordered.forEach((card, index) => {
      let row = rows.get(card.case_id);
      if (!row || row.seq !== card.seq) {
        const node = buildCase(card, state.profile);
        if (row) row.node.replaceWith(node);
        row = { seq: card.seq, node };
        rows.set(card.case_id, row);
      }
      row.node.classList.toggle("is-new", state.unseen.has(card.case_id));
      row.node.classList.toggle("selected", selected === card.case_id);
      if (list.children[index] !== row.node) {
        list.insertBefore(row.node, list.children[index] || null);
      }
    });
    empty.hidden = ordered.length > 0;
    renderCounts(summarise(state));
  }

  function renderCounts(counts) {
    summary.replaceChildren();
    if (counts.total > 0) {
      summary.append(make("span", "summary-count", `${counts.total} on the board`));
      if (counts.waiting > 0) {
        summary.append(make("span", "summary-waiting", `${counts.waiting} unclaimed`));
      }
      if (counts.urgent > 0) {
        summary.append(make("span", "summary-urgent", `${counts.urgent} urgent (P1)`));
      }
    }
    if (counts.unseen > 0) {
      summary.append(make("span", "summary-new", `${counts.unseen} new`));
    }
    if (counts.notLoaded > 0) {
      // Said plainly: a board that silently drops cases is worse than a long one.
      const more = make("span", "summary-more", `${counts.notLoaded} less urgent not loaded`);
      more.title = more.textContent; // a narrow bar may cut it short (console.css)
      summary.append(more);
    }
    markSeen.hidden = counts.unseen === 0;
    document.title = counts.title;
  }

  // The toast that was clicked points at this row: bring it into view and make it blink.
  function flash(caseId) {
    const row = rows.get(caseId);
    if (!row) return;
    row.node.scrollIntoView({ block: "center", behavior: "smooth" });
    row.node.classList.add("flash");
    setTimeout(() => row.node.classList.remove("flash"), 1500);
  }

  function buildCase(card, profile) {
    const item = make("li", `case ${priorityClass(card.priority)} s-${card.status}`);
    item.dataset.caseId = String(card.case_id);
    item.dataset.seq = String(card.seq);
    item.dataset.priority = String(card.priority);
    item.dataset.status = card.status;
    item.tabIndex = 0;

    const head = make("div", "case-head");
    head.append(make("span", "priority", `P${card.priority}`));
    head.append(make("span", "customer", customerName(card)));
    const score = worstScore(card.scores);
    if (score) head.append(make("span", "score", describeScore(score)));
    if (card.follow_up_requested) head.append(make("span", "flag", "Asked for a call back"));
    const late = lateAnswerFlag(card);
    if (late) head.append(late);
    head.append(make("span", "new-badge", "New"));
    const right = make("span", "case-when");
    right.append(timeElement(card.opened_at, "Opened"));
    right.append(make("span", "case-id", `#${card.case_id}`));
    head.append(right);
    item.append(head);

    const state = make("div", "case-state");
    state.append(statusBadge(card, profile));
    state.append(make("span", "owner", card.owner ? `owned by ${card.owner}` : "unowned"));
    const left = timeLeftElement(card, profile);
    if (left) state.append(left);
    const sla = slaBadge(card);
    if (sla) state.append(sla);
    const callBack = callBackBadge(card);
    if (callBack) state.append(callBack);
    if (card.failed_attempts > 0) {
      state.append(make("span", "attempts-count", `${card.failed_attempts} failed attempt(s)`));
    }
    item.append(state);

    const actions = boardActions(card, profile);
    if (actions.includes("claimed")) state.append(claimControl(card));
    state.append(make("span", "open-hint", "Open ›"));

    const reasons = card.reasons || [];
    if (reasons.length > 0) {
      const chips = make("ul", "reasons");
      chips.setAttribute("aria-label", "Reasons");
      for (const reason of reasons) {
        const chip = make("li", "reason", reason.label || reason.code);
        if (reason.evidence) chip.title = `Customer said: ${reason.evidence}`;
        chips.append(chip);
      }
      item.append(chips);
    }

    if (card.comment) {
      const comment = make("blockquote", "comment", card.comment);
      comment.title = "Open the case to read the whole comment";
      item.append(comment);
    }

    const meta = make("div", "meta");
    const customer = card.customer || {};
    const interaction = card.interaction || {};
    const facts = [
      customer.phone,
      interaction.channel && `via ${interaction.channel}`,
      interaction.team && `team ${interaction.team}`,
      card.queue && card.queue !== "default" && `queue ${card.queue}`,
    ].filter(Boolean);
    for (const fact of facts) meta.append(make("span", "fact", fact));
    if (facts.length > 0) item.append(meta);

    item.addEventListener("click", () => onOpen(card.case_id));
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") onOpen(card.case_id);
    });
    item.addEventListener("focus", () => onSeen(card.case_id));
    return item;
  }

  // Claim from the board without opening the case: the card redraws when the claimed card
  // comes back, so only a refusal (taken meanwhile, say) needs saying here.
  function claimControl(card) {
    const wrap = make("span", "card-claim");
    const error = make("span", "card-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const claim = button("Claim", "primary small action-claim", async (event) => {
      event.stopPropagation();
      claim.disabled = true;
      error.hidden = true;
      try {
        await onClaim(card.case_id);
      } catch (failure) {
        error.textContent = failure && failure.message ? failure.message : "Could not claim.";
        error.hidden = false;
        claim.disabled = false;
      }
    });
    claim.title = "Take this case: you own the follow-up";
    claim.addEventListener("keydown", (event) => event.stopPropagation());
    wrap.append(claim, error);
    return wrap;
  }

  return { render, flash };
}

// A countdown while the customer still waits for a first try.
function timeLeftElement(card, profile) {
  const due = dueAt(card, profile && profile.policy);
  if (due === null || !["open", "reopened", "claimed"].includes(card.status)) return null;
  return countdown("span", due, slaState(card));
}

// Relative times and countdowns move on by themselves, once a second.
export function refreshTimes() {
  for (const node of document.querySelectorAll("time.ago")) {
    node.textContent = ago(node.dateTime);
  }
  for (const node of document.querySelectorAll(".time-left[data-due]")) {
    const left = describeTimeLeft(Number(node.dataset.due));
    node.textContent = left.text;
    node.classList.toggle("overdue", left.overdue);
  }
}
