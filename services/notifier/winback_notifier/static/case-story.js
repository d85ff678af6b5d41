// The case panel's "story so far" (GET /api/cases/{id}/story): the interaction the survey was
// about, the customer's earlier responses and cases with their outcomes, and their other open
// cases, with an offer to claim them together (all or none, POST .../claim-together) and a
// warning when another agent owns one. Also the board's repeat-customer marks
// (GET /api/repeat-customers), kept per case for the session since they do not change.
// What it says is story.js's; this module only reads the API and draws.

import { api } from "./api.js";
import { button, make, timeElement } from "./dom.js";
import { describeScore } from "./format.js";
import {
  claimOffer, describeInteraction, describeMatch, describeOutcome, ownedByOthers, repeatText,
} from "./story.js";

// Read the case's story and draw it into `node`, unless another case was opened meanwhile.
// `dispatch` gets the cards a joint claim returns, as `api.acted`. A story that cannot be read
// says so in its own section: the case itself stays workable.
export async function loadStory(node, { card, profile, dispatch, stillShown, showError }) {
  let story;
  try {
    story = await api("GET", `/api/cases/${card.case_id}/story`);
  } catch (error) {
    if (!stillShown()) return;
    node.replaceChildren(make("h3", "", "The story so far"),
      make("p", "muted", `Could not read it: ${error && error.message ? error.message : error}`));
    return;
  }
  if (!stillShown()) return;
  renderStory(node, story, { card, profile, dispatch, showError });
}

function renderStory(node, story, { card, profile, dispatch, showError }) {
  node.replaceChildren(make("h3", "", "The story so far"));
  node.dataset.caseId = String(story.case_id);
  const repeat = repeatText(story);
  if (repeat) node.append(make("p", "story-repeat", repeat));

  const trigger = make("div", "story-trigger");
  trigger.append(make("span", "story-label", "Survey about: "));
  trigger.append(make("span", "story-interaction",
    describeInteraction(story.interaction) || "no interaction recorded"));
  const it = story.interaction;
  if (it.occurred_at) trigger.append(" · ", timeElement(it.occurred_at, "Happened"));
  trigger.append(make("span", "story-source", ` · via ${it.source}`));
  node.append(trigger);

  for (const linked of ownedByOthers(story)) {
    const warning = make("p", "story-warning",
      `Case #${linked.case_id} of this customer is ${linked.owner}'s (${linked.status}, queue ${
        linked.queue}): agree with ${linked.owner} who calls, so the customer is called once.`);
    warning.setAttribute("role", "alert");
    node.append(warning);
  }
  if (story.open_cases.length) node.append(openCases(story, card, profile, dispatch, showError));

  const earlier = make("ol", "story-responses");
  for (const response of story.responses) earlier.append(responseItem(response, profile));
  node.append(story.responses.length ? earlier
    : make("p", "muted", "No other survey response from this customer."));
}

function openCases(story, card, profile, dispatch, showError) {
  const wrap = make("div", "story-open");
  wrap.append(make("h4", "", "Other open cases of this customer"));
  const list = make("ul", "story-open-cases");
  for (const linked of story.open_cases) {
    const owner = linked.mine ? "yours" : linked.owner ? `owned by ${linked.owner}` : "unowned";
    const item = make("li", "story-open-case",
      `#${linked.case_id} · ${linked.status} · ${owner} · queue ${linked.queue}`);
    item.dataset.caseId = String(linked.case_id);
    list.append(item);
  }
  wrap.append(list);
  const offer = claimOffer(story, card, profile);
  if (offer) {
    const claim = button(offer.label, "primary small story-claim", async () => {
      claim.disabled = true;
      try {
        const cards = await api("POST", `/api/cases/${card.case_id}/claim-together`,
          { linked: offer.linked });
        for (const claimed of cards) dispatch({ type: "api.acted", card: claimed });
      } catch (error) {
        showError(error);
        claim.disabled = false;
      }
    });
    claim.title = "Claim them all at once, or none if someone else took one meanwhile";
    wrap.append(claim);
  }
  return wrap;
}

function responseItem(response, profile) {
  const item = make("li", `story-response${response.before ? " before" : " after"}`);
  item.dataset.responseId = String(response.survey_response_id);
  const line = make("div", "story-line");
  line.append(timeElement(response.answered_at, "Answered"));
  line.append(make("span", "story-source", response.source));
  const scores = (response.scores || []).map(describeScore).join(" · ");
  if (scores) line.append(make("span", "story-scores", scores));
  if (response.reasons.length) line.append(make("span", "story-reasons", response.reasons.join(", ")));
  item.append(line);
  if (response.comment) item.append(make("blockquote", "story-comment", response.comment));
  item.append(make("div", "story-outcome", describeOutcome(response.case, profile)));
  const match = make("div", "story-match", `matched by ${describeMatch(response.matched_by)}`);
  item.append(match);
  return item;
}

// The board's repeat-customer marks: each case row of `list` whose customer answered another
// survey within the window gets a "Repeat" badge. Asked once per case, in batches.
export function createRepeatMarks() {
  const marks = new Map(); // case_id -> mark or null (not a repeat)
  const asking = new Set();

  async function ask(caseIds, list) {
    for (const caseId of caseIds) asking.add(caseId);
    try {
      const query = caseIds.map((caseId) => `case_id=${caseId}`).join("&");
      const found = await api("GET", `/api/repeat-customers?${query}`);
      for (const caseId of caseIds) marks.set(caseId, null);
      for (const mark of found) marks.set(mark.case_id, mark);
    } catch (error) {
      return; // asked again on the next render
    } finally {
      for (const caseId of caseIds) asking.delete(caseId);
    }
    decorate(list);
  }

  function decorate(list) {
    const unknown = [];
    for (const row of list.querySelectorAll("li.case[data-case-id]")) {
      const caseId = Number(row.dataset.caseId);
      const mark = marks.get(caseId);
      if (mark === undefined) {
        if (!asking.has(caseId)) unknown.push(caseId);
      } else if (mark && !row.querySelector(".repeat-badge")) {
        const badge = make("span", "repeat-badge", "Repeat");
        badge.title = `${mark.earlier} earlier survey response(s) from this customer recently`;
        const name = row.querySelector(".case-head .customer");
        if (name) name.after(badge);
        else row.prepend(badge);
      }
    }
    for (let start = 0; start < unknown.length; start += 200) {
      ask(unknown.slice(start, start + 200), list);
    }
  }

  return { decorate };
}
