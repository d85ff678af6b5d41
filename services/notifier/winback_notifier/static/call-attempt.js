// The panel's "log a contact attempt" form: the channel, a note, and one button per outcome
// (reached, no answer, voicemail left, wrong number, call later), each with its number key.
// "Call later" asks when the customer wants the call, which becomes the case's next deadline.
// Built by case-actions.js when the transition table allows an attempt; posts through `act`.

import { button, make } from "./dom.js";
import { humanise } from "./format.js";
import { OUTCOME_CLASSES, outcomeChoices } from "./call-outcomes.js";

const NOTE_HINT = "What happened (the customer's words, what you promised)";

// `datetime-local` wants local wall-clock text; the next whole hour is a sensible default.
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function nextWholeHour(now) {
  const next = new Date(now);
  next.setMinutes(0, 0, 0);
  next.setHours(next.getHours() + 1);
  return next;
}

// The body the API takes for an outcome; `callBackAt` is the input's local text.
export function attemptBody(outcome, channel, note, callBackAt) {
  const body = { channel, outcome, note };
  if (outcome === "call_later") {
    const moment = new Date(callBackAt);
    if (!callBackAt || Number.isNaN(moment.getTime())) return null;
    body.call_back_at = moment.toISOString();
  }
  return body;
}

function labelled(text, control) {
  const label = make("label", "field");
  label.append(make("span", "field-label", text), control);
  return label;
}

export function attemptForm({ card, profile, act }) {
  const node = make("form", "action-form form-attempt");
  node.noValidate = true;
  node.append(make("h3", "", "Log a contact attempt"));
  const policy = profile.policy;

  const channel = make("select");
  channel.name = "channel";
  for (const value of policy.channels) {
    const option = make("option", "", humanise(value));
    option.value = value;
    channel.append(option);
  }
  const note = make("textarea");
  note.name = "note";
  note.rows = 2;
  note.placeholder = NOTE_HINT;
  const hint = make("p", "hint");
  const twoWay = new Set(policy.two_way_channels);
  const updateHint = () => {
    const tried = card.first_attempt_at !== null && card.first_attempt_at !== undefined;
    hint.textContent = !twoWay.has(channel.value) && !tried
      ? "Try phone or in person first: a conversation recovers more than a message."
      : "";
    hint.hidden = !hint.textContent;
  };
  channel.addEventListener("change", updateHint);
  updateHint();
  const row = make("div", "form-row");
  row.append(labelled("Channel", channel));
  node.append(row, labelled("Note", note), hint);

  const later = make("div", "call-later");
  later.hidden = true;
  const when = make("input");
  when.type = "datetime-local";
  when.name = "call_back_at";
  const whenError = make("p", "call-later-error");
  whenError.hidden = true;
  const send = async (outcome) => {
    const body = attemptBody(outcome, channel.value, note.value, when.value);
    if (!body) {
      whenError.textContent = "Say when the customer asked to be called.";
      whenError.hidden = false;
      when.focus();
      return;
    }
    if (!(await act("attempts", body))) return;
    // Logged. The form may stay (nothing it depends on changed): ready for the next attempt,
    // and the keys work again rather than typing into a field that is done with.
    note.value = "";
    when.value = "";
    later.hidden = true;
    whenError.hidden = true;
    if (node.contains(document.activeElement)) document.activeElement.blur();
  };
  const schedule = button("Schedule the call-back", "primary action-schedule",
    () => send("call_later"));
  later.append(labelled("Call back at (your time)", when), schedule, whenError);
  node.addEventListener("submit", (event) => event.preventDefault());
  when.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // Enter in the time field schedules, as the button next to it does
    send("call_later");
  });

  const buttons = make("div", "form-buttons outcomes");
  buttons.setAttribute("role", "group");
  buttons.setAttribute("aria-label", "How the call went");
  for (const [outcome, label, key] of outcomeChoices(profile)) {
    const choice = button("", OUTCOME_CLASSES[outcome] || "secondary", () => {
      if (outcome !== "call_later") {
        send(outcome);
        return;
      }
      later.hidden = false;
      if (!when.value) when.value = localInputValue(nextWholeHour(Date.now()));
      when.focus();
    });
    choice.dataset.outcome = outcome;
    choice.dataset.key = key;
    choice.setAttribute("aria-keyshortcuts", key);
    choice.append(make("kbd", "key", key), document.createTextNode(
      outcome === "call_later" ? ` ${label}…` : ` ${label}`));
    buttons.append(choice);
  }
  node.append(buttons, later);
  return node;
}
