// The case panel's actions: one control per workflow action, shown only when the server's
// transition table (sent in `hello`) allows it to this agent on this case. Each control calls
// the case API through `act(path, body)`; the rules themselves are checked there, once.

import { ApiError, api } from "./api.js";
import { button, make } from "./dom.js";
import { humanise } from "./format.js";
import { allowedActions } from "./profile.js";
import { attemptForm } from "./call-attempt.js";

const REACTIONS = [
  ["satisfied", "Satisfied"],
  ["neutral", "Neutral"],
  ["dissatisfied", "Still dissatisfied"],
];

// The workflow's actions (as the server names them) and the control that takes each, so a
// table listing them in workflow order lays the panel out in that order.
const CONTROLS = {
  claimed: claimButton,
  contact_attempted: attemptForm, // call-attempt.js: one button per outcome
  marked_unreachable: unreachableButton,
  resolved: resolveForm,
  closed: closeForm,
  reopened: reopenForm,
  reassigned: reassignForm,
  reasons_reviewed: reasonsForm,
  note_added: noteForm,
};

// Codes the router writes itself: not reasons an agent picks (the follow-up box says the one).
const ROUTER_CODES = new Set(["unclassified", "asks_contact"]);

// `context`: {card, profile, act(path, body) -> Promise<boolean>, showError(error),
// latest() -> the card shown now (a form built earlier reads what may have changed since)}.
export function renderActions(node, context) {
  node.replaceChildren();
  for (const action of allowedActions(context.card, context.profile)) {
    const control = CONTROLS[action];
    if (control) node.append(control(context));
  }
}

// Marking unreachable waits for enough failed attempts, a policy the server sends too, or
// one attempt that found the number wrong.
export function needsMoreAttempts(card, profile) {
  return card.failed_attempts < profile.policy.unreachable_after_attempts
    && !card.wrong_number_at;
}

function field(labelText, control) {
  const label = make("label", "field");
  label.append(make("span", "field-label", labelText));
  label.append(control);
  return label;
}

function textInput(name, placeholder, type) {
  const input = make("input");
  input.type = type || "text";
  input.name = name;
  if (placeholder) input.placeholder = placeholder;
  return input;
}

function textArea(name, placeholder) {
  const area = make("textarea");
  area.name = name;
  area.rows = 2;
  if (placeholder) area.placeholder = placeholder;
  return area;
}

// `placeholder`: a first, empty choice, so that a form left untouched sends nothing the agent
// did not pick.
function select(name, options, placeholder) {
  const node = make("select");
  node.name = name;
  const choices = placeholder ? [["", placeholder], ...options] : options;
  for (const [value, label] of choices) {
    const option = make("option", "", label);
    option.value = value;
    node.append(option);
  }
  return node;
}

function form(className, title) {
  const node = make("form", `action-form ${className}`);
  node.noValidate = true;
  if (title) node.append(make("h3", "", title));
  node.addEventListener("submit", (event) => event.preventDefault());
  return node;
}

function claimButton({ act }) {
  return button("Claim", "primary action-claim", () => act("claim"));
}

function unreachableButton({ card, profile, act }) {
  const needed = profile.policy.unreachable_after_attempts;
  const node = button("Mark unreachable", "secondary action-unreachable",
    () => act("unreachable", { note: "" }));
  node.disabled = needsMoreAttempts(card, profile);
  node.title = `Possible after ${needed} failed attempts, or one that found the number wrong`;
  return node;
}

// The root cause a resolve form starts from: the first coded reason that is a root cause, or
// none ("") when no reason is one (an unclassified case), so that the agent chooses it rather
// than a first option that would land unread in the root-cause reports.
export function initialRootCause(card, profile) {
  const causes = new Set((profile.root_causes || []).map((c) => c.code));
  return (card.reasons || []).map((r) => r.code).find((code) => causes.has(code)) || "";
}

// What a resolve is still missing before it may be sent (null when nothing): the root cause
// and the customer's reaction go into the reports, so the agent must have chosen both.
export function resolveMissing(body) {
  if (!body.root_cause) return "Choose the confirmed root cause.";
  if (!body.customer_reaction) return "Choose the customer's reaction.";
  return null;
}

function resolveForm({ card, profile, act, showError }) {
  const node = form("form-resolve", "Resolve");
  const causes = (profile.root_causes || []).map((c) => [c.code, c.label]);
  const cause = select("root_cause", causes, "Choose the root cause…");
  cause.value = initialRootCause(card, profile);
  const apology = make("input");
  apology.type = "checkbox";
  apology.name = "apology";
  apology.checked = true;
  const apologyLabel = make("label", "check");
  apologyLabel.append(apology, document.createTextNode(" Apologised"));
  const explanation = textArea("explanation", "What you explained");
  const compensation = textInput("compensation", "0", "number");
  compensation.min = "0";
  compensation.step = "0.01";
  const currency = textInput("currency", "EUR");
  currency.value = "EUR";
  currency.maxLength = 8;
  const processChange = textArea("process_change", "What changes so it does not happen again");
  const reaction = select("customer_reaction", REACTIONS, "Choose…");
  const note = textArea("note", "Anything else worth keeping");
  const money = make("div", "form-row");
  money.append(field("Compensation", compensation), field("Currency", currency));
  node.append(
    field("Confirmed root cause", cause),
    apologyLabel,
    field("Explanation", explanation),
    money,
    field("Process change", processChange),
    field("Customer's reaction", reaction),
    field("Note", note),
  );
  const submit = button("Resolve case", "primary action-resolve", () => {
    const value = compensation.value === "" ? null : Number(compensation.value);
    const body = {
      root_cause: cause.value,
      resolution: {
        apology: apology.checked,
        explanation: explanation.value || null,
        compensation: value ? { kind: "credit", value, currency: currency.value || "EUR" }
          : null,
        process_change: processChange.value || null,
      },
      customer_reaction: reaction.value,
      note: note.value,
    };
    const missing = resolveMissing(body);
    if (missing) {
      showError(new ApiError(0, "invalid_request", missing));
      return;
    }
    act("resolve", body);
  });
  node.append(submit);
  return node;
}

function closeForm({ act }) {
  const node = form("form-close", "Close");
  const outcome = textArea("follow_up_outcome", "What the follow-up found");
  node.append(field("Follow-up outcome", outcome));
  node.append(button("Close case", "primary action-close",
    () => act("close", { follow_up_outcome: outcome.value })));
  return node;
}

function reopenForm({ act, showError }) {
  const node = form("form-reopen", "Reopen");
  const reason = textArea("reason", "Why it needs more work");
  node.append(field("Reason", reason));
  node.append(button("Reopen case", "secondary action-reopen", () => {
    if (!reason.value.trim()) {
      showError(new ApiError(0, "invalid_request", "Say why the case is reopened."));
      return;
    }
    act("reopen", { reason: reason.value });
  }));
  return node;
}

// Supervisors pick the new owner from a list the server builds with the reassign rule
// itself (GET /api/cases/{id}/assignees), so only agents who may take the case are offered.
// Choosing another queue asks again for that queue's members.
function reassignForm({ card, act, showError }) {
  const node = form("form-reassign", "Reassign");
  const queue = make("select");
  queue.name = "queue";
  const agent = make("select");
  agent.name = "agent";
  let choices = [];
  const row = make("div", "form-row");
  row.append(field("To queue", queue), field("To agent", agent));
  node.append(row);
  const submit = button("Reassign", "secondary action-reassign", async () => {
    const chosen = choices[agent.selectedIndex];
    if (chosen === undefined) {
      showError(new ApiError(0, "invalid_request", "Choose who takes the case (or nobody)."));
      return;
    }
    if (!(await act("reassign", { agent: chosen, queue: queue.value || null }))) {
      load(queue.value); // the team may have changed since the list was read
    }
  });
  node.append(submit);

  let asked = 0;
  async function load(target) {
    const ticket = ++asked;
    agent.disabled = true;
    agent.replaceChildren(make("option", "", "loading…"));
    choices = [];
    const query = target ? `?queue=${encodeURIComponent(target)}` : "";
    try {
      const options = await api("GET", `/api/cases/${card.case_id}/assignees${query}`);
      if (ticket !== asked || !node.isConnected) return; // a newer list or a rebuilt form
      fillQueues(queue, options);
      choices = fillAgents(agent, options);
      agent.disabled = false;
    } catch (error) {
      if (ticket === asked && node.isConnected) showError(error);
    }
  }
  queue.addEventListener("change", () => load(queue.value));
  load(null);
  return node;
}

function fillQueues(queue, options) {
  queue.replaceChildren();
  for (const name of options.queues) {
    const label = name === options.case_queue ? `${name} (where it is)` : name;
    const option = make("option", "", label);
    option.value = name;
    queue.append(option);
  }
  queue.value = options.queue;
}

// Returns what each option stands for: undefined for the prompt, null for "nobody".
function fillAgents(agent, options) {
  agent.replaceChildren();
  const prompt = make("option", "", "choose an agent…");
  prompt.disabled = true;
  prompt.value = "";
  agent.append(prompt);
  const nobody = make("option", "", "nobody: back to the queue, unowned");
  nobody.value = "";
  agent.append(nobody);
  const choices = [undefined, null];
  for (const person of options.agents) {
    let label = person.name;
    if (person.role !== "agent") label += ` · ${person.role}`;
    if (person.owner) label += " (owns it now)";
    const option = make("option", "", label);
    option.value = person.name;
    agent.append(option);
    choices.push(person.name);
  }
  agent.selectedIndex = 0;
  return choices;
}

// The coded reasons as labelled data: "right" confirms them as they are; "wrong" opens the
// taxonomy's codes (ticked as coded) and the follow-up question, to say what they really were.
export function codedLabel(card) {
  const codes = (card.reasons || []).map((r) => r.code).filter((c) => !ROUTER_CODES.has(c));
  const asked = Boolean(card.follow_up_requested)
    || (card.reasons || []).some((r) => r.code === "asks_contact");
  return { codes: [...new Set(codes)], follow_up_requested: asked };
}

function checkbox(name, value, text, checked) {
  const input = make("input");
  input.type = "checkbox";
  input.name = name;
  input.value = value;
  input.checked = checked;
  const label = make("label", "check");
  label.append(input, document.createTextNode(` ${text}`));
  return label;
}

// A revision or re-coding may change the reasons while the form is open: it reads the shown
// card when the agent confirms or opens the list, not the one it was built for.
function reasonsForm({ card, profile, act, latest }) {
  const node = form("form-reasons", "Are the coded reasons right?");
  const shown = () => codedLabel((latest && latest()) || card);
  const done = make("p", "hint reasons-saved");
  done.hidden = true;
  const editor = make("fieldset", "reasons-editor");
  editor.hidden = true;
  editor.append(make("legend", "", "What the customer's reasons really were"));
  for (const cause of profile.root_causes || []) {
    editor.append(checkbox("codes", cause.code, cause.label, false));
  }
  const asked = checkbox("follow_up_requested", "yes", "The customer asked to be contacted",
    false);
  asked.classList.add("reasons-follow-up");
  const note = textArea("note", "What they said that the coding missed (optional)");
  editor.append(asked, field("Note", note));
  const send = async (label, verdict) => {
    if (await act("reasons", { ...label, note: note.value })) {
      editor.hidden = true;
      done.textContent = verdict;
      done.hidden = false;
    }
  };
  const save = button("Save correction", "primary action-reasons-save", () => send({
    codes: [...editor.querySelectorAll("input[name=codes]:checked")].map((i) => i.value),
    follow_up_requested: asked.querySelector("input").checked,
  }, "Correction saved."));
  editor.append(save);
  const buttons = make("div", "form-buttons");
  buttons.append(button("Reasons right", "secondary action-reasons-right",
    () => send(shown(), "Confirmed as coded.")));
  buttons.append(button("Reasons wrong…", "secondary action-reasons-wrong", () => {
    if (editor.hidden) tick(editor, shown());
    editor.hidden = !editor.hidden;
    done.hidden = true;
  }));
  node.append(buttons, editor, done);
  return node;
}

function tick(editor, label) {
  for (const input of editor.querySelectorAll("input[name=codes]")) {
    input.checked = label.codes.includes(input.value);
  }
  editor.querySelector("input[name=follow_up_requested]").checked = label.follow_up_requested;
}

function noteForm({ act }) {
  const node = form("form-note", "Add a note");
  const text = textArea("text", "Visible to everyone working this queue");
  node.append(text);
  node.append(button("Add note", "secondary action-note", async () => {
    if (!text.value.trim()) return;
    if (await act("notes", { text: text.value })) text.value = "";
  }));
  return node;
}
