// Working cases without the mouse. One key each, never while the agent types in a field:
//   n  open the most urgent unclaimed case (the next one after the case shown)
//   c  claim the case shown                l  go to the attempt form's outcomes
//   1-5  go to that outcome (Enter logs it) d  compact or comfortable board
//   Esc  leave a field, or close the case  ?  hide or show the list of keys
// `shortcutFor` and `nextUnclaimed` are pure (tested in Node); `installKeys` wires them.

import { make } from "./dom.js";

const KEYS = {
  n: "next",
  c: "claim",
  l: "log",
  d: "density",
  "?": "help",
  Escape: "close",
};

export const HINT = [
  ["N", "next unclaimed"],
  ["C", "claim"],
  ["1–5", "call outcome, Enter to log"],
  ["L", "log an attempt"],
  ["D", "compact board"],
  ["Esc", "leave a field / close"],
  ["?", "hide these"],
];

// Typing in these must never trigger a shortcut; buttons, links, radios and boxes are fine.
const TYPING_INPUTS = new Set(["text", "search", "email", "number", "password", "tel", "url",
  "date", "datetime-local", "time", "month", "week"]);

export function isTyping(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  if (tag === "input") return TYPING_INPUTS.has((target.type || "text").toLowerCase());
  return Boolean(target.isContentEditable);
}

// The action a key press asks for, or null (modifiers, typing, an unbound key).
export function shortcutFor(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return null;
  if (isTyping(event.target)) return null;
  if (/^[1-9]$/.test(event.key)) return `outcome:${event.key}`;
  return KEYS[event.key] || KEYS[String(event.key).toLowerCase()] || null;
}

// The most urgent case nobody has claimed, in board order, other than the one shown.
// `claimable(card)` says whether the agent may claim it (the transition table's answer).
export function nextUnclaimed(rows, shownId, claimable) {
  return rows.find((card) => card.case_id !== shownId && claimable(card)) || null;
}

// `board()`: the board's rows in order; `shown()`: the case shown or null; `claimable(card)`;
// `openCase(id)`; `toggleDensity()`; `closeCase()`; `detail`: the panel; `hintParent`: where
// the visible key list goes.
export function installKeys({ board, shown, claimable, openCase, toggleDensity, closeCase,
  detail, hintParent }) {
  const hint = make("p", "key-hint");
  hint.id = "key-hint";
  hint.append(make("span", "key-hint-title", "Keys:"));
  for (const [key, what] of HINT) {
    const item = make("span", "key-hint-item");
    item.append(make("kbd", "key", key), document.createTextNode(` ${what}`));
    hint.append(item);
  }
  hintParent.append(hint);

  const focus = (selector) => {
    const target = detail.hidden ? null : detail.querySelector(selector);
    if (!target || target.disabled) return false;
    target.focus();
    target.scrollIntoView({ block: "nearest" });
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isTyping(event.target)) {
      event.target.blur(); // out of the field, keys work again; what was typed stays
      return;
    }
    const action = shortcutFor(event);
    if (!action) return;
    const current = shown();
    let done = true;
    if (action === "next") {
      const next = nextUnclaimed(board(), current ? current.case_id : null, claimable);
      if (next) openCase(next.case_id);
      else done = false;
    } else if (action === "claim") {
      const claim = detail.hidden ? null : detail.querySelector(".action-claim");
      if (claim && !claim.disabled) claim.click();
      else done = false;
    } else if (action === "log") {
      done = focus(".form-attempt .outcomes button");
    } else if (action.startsWith("outcome:")) {
      done = focus(`.form-attempt .outcomes button[data-key="${action.slice(8)}"]`);
    } else if (action === "density") {
      toggleDensity();
    } else if (action === "close") {
      if (current) closeCase();
      else done = false;
    } else if (action === "help") {
      hint.classList.toggle("collapsed");
    }
    if (done) event.preventDefault();
  });
  return hint;
}
