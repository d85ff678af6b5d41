// Words for the call, in the case panel: the five steps of the conversation in order
// (acknowledge, introduce yourself, say how long it will take, explain, thank) and, inside
// "explain", for each of the customer's reasons an apology first and then options to offer.
// The company configures them (GET /api/call-guidance); every line is a suggestion in an
// editable box, kept per case while the console is open, so the agent says it in their words.

import { api } from "./api.js";
import { make } from "./dom.js";
import { customerName } from "./format.js";

const STEP_TITLES = {
  acknowledge: "Acknowledge",
  introduce: "Introduce yourself",
  duration: "Say how long it will take",
  explain: "Explain",
  thank: "Thank",
};
const SHOWN_IN = new Set(["open", "reopened", "claimed", "contacted", "unreachable"]);
const OPEN_IN = new Set(["claimed", "contacted"]);

let guidance = null;
let loading = null;
const built = new Map(); // case id -> the words element, edits and all

// A line with its placeholders filled; an unknown name stays as written.
export function fillLine(line, values) {
  return String(line).replace(/\{(customer|agent|company)\}/g, (whole, name) =>
    values[name] ? String(values[name]) : whole);
}

// The case's reasons that have words, in the case's order, each once.
export function reasonWords(card, words) {
  const seen = new Set();
  const found = [];
  for (const reason of card.reasons || []) {
    const entry = words && words.reasons && words.reasons[reason.code];
    if (!entry || seen.has(reason.code)) continue;
    seen.add(reason.code);
    found.push({ code: reason.code, label: reason.label || reason.code, ...entry });
  }
  return found;
}

function editable(text, className) {
  const box = make("textarea", `say-line ${className || ""}`.trim());
  box.value = text;
  box.rows = Math.min(3, Math.ceil(text.length / 70) || 1);
  box.setAttribute("aria-label", "Suggested words (edit freely)");
  return box;
}

function build(card, profile) {
  const customer = card.customer || {};
  const values = {
    customer: customer.name || customerName(card),
    agent: profile ? profile.name : "",
    company: guidance.company,
  };
  const root = make("details", "call-words");
  root.append(make("summary", "", "Words for the call"));
  const steps = make("ol", "call-steps");
  for (const [step, words] of Object.entries(guidance.steps)) {
    const item = make("li", `call-step step-${step}`);
    item.append(make("strong", "call-step-title", STEP_TITLES[step] || step));
    item.append(make("span", "call-step-prompt", ` ${words.prompt}`));
    for (const line of words.say || []) item.append(editable(fillLine(line, values)));
    if (step === "explain") {
      for (const reason of reasonWords(card, guidance)) {
        const block = make("div", "call-reason");
        block.dataset.code = reason.code;
        block.append(make("div", "call-reason-label", reason.label));
        block.append(make("div", "call-reason-part", "Apologise first"));
        for (const line of reason.apology) {
          block.append(editable(fillLine(line, values), "apology"));
        }
        if (reason.options.length) {
          block.append(make("div", "call-reason-part", "Options to offer (let them choose)"));
          const options = make("ul", "call-options");
          for (const line of reason.options) {
            const option = make("li");
            option.append(editable(fillLine(line, values), "option"));
            options.append(option);
          }
          block.append(options);
        }
        item.append(block);
      }
    }
    steps.append(item);
  }
  root.append(steps);
  return root;
}

// The words element for this case in `node` (the panel's guidance section), once the
// guidance has loaded; the same element each time, so what the agent edited stays.
export function renderCallWords(node, card, profile) {
  if (!SHOWN_IN.has(card.status)) return;
  if (!guidance) {
    loading = loading || api("GET", "/api/call-guidance").then((value) => {
      guidance = value;
    });
    const caseId = card.case_id;
    loading.then(() => {
      if (node.isConnected && !node.querySelector(".call-words")
        && Number(node.dataset.caseId) === caseId) {
        renderCallWords(node, card, profile);
      }
    }).catch(() => {
      loading = null; // try again on the next render
    });
    node.dataset.caseId = String(caseId);
    return;
  }
  // Rebuilt only when the case's reasons change (a re-coding): edits survive every other update.
  const key = `${card.case_id}|${(card.reasons || []).map((r) => r.code).join(",")}`;
  let words = built.get(key);
  if (!words) {
    words = build(card, profile);
    words.open = OPEN_IN.has(card.status);
    built.set(key, words);
  }
  if (OPEN_IN.has(card.status) && !words.dataset.opened) {
    words.open = true;
    words.dataset.opened = "1"; // opened once by itself; after that the agent decides
  }
  node.dataset.caseId = String(card.case_id);
  node.append(words);
}
