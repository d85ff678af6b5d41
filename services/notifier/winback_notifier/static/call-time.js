// The customer's local time beside their phone number, and whether it is a reasonable hour to
// call: the server works out the zone (phone number, else the source's or queue's) and the
// verdict against the calling hours (GET /api/cases/{id}/call-time); this module shows it,
// keeps the clock moving, asks again when the verdict may change, and stands between the agent
// and a call outside calling hours with a warning they can overrule.

import { api } from "./api.js";
import { make } from "./dom.js";

const STALE_MS = 60_000;
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat",
  sun: "Sun" };
const VERDICTS = {
  ok: "a good time to call",
  outside: "outside calling hours",
  mixed: "outside calling hours in some of its time zones",
  unknown: "",
};

const known = new Map(); // case id -> {data, fetchedAt}
const confirmed = new Set(); // case ids the agent chose to call outside hours this visit
// The case whose warning is open, so a redraw of the panel's facts (any live change of the case,
// the agent's own claim among them) puts it back instead of taking the question away unanswered.
let warningFor = null;

// The customer's wall clock in `zone` at `now` (ms), as HH:MM.
export function wallClock(zone, now) {
  try {
    return new Intl.DateTimeFormat([], { timeZone: zone, hour: "2-digit", minute: "2-digit",
      hourCycle: "h23" }).format(new Date(now));
  } catch (error) {
    return "";
  }
}

// "Mon–Fri 09:00–20:00, Sat 10:00–16:00": days with the same hours read together.
export function describeHours(hours) {
  const groups = [];
  for (const day of DAYS) {
    const spans = (hours && hours[day]) || [];
    if (spans.length === 0) continue;
    const text = spans.join(", ").replaceAll("-", "–");
    const last = groups[groups.length - 1];
    if (last && last.text === text && DAYS.indexOf(last.to) === DAYS.indexOf(day) - 1) {
      last.to = day;
    } else {
      groups.push({ from: day, to: day, text });
    }
  }
  if (groups.length === 0) return "never";
  return groups.map((g) => `${DAY_NAMES[g.from]}${g.from === g.to ? "" : `–${DAY_NAMES[g.to]}`} `
    + g.text).join(", ");
}

// What to say: the customer's clock (a range over several candidate zones) and the verdict.
export function describeCallTime(data, now) {
  const zones = (data && data.zones) || [];
  if (zones.length === 0) return { clock: "local time unknown", verdict: "unknown", text: "" };
  const clocks = zones.map((z) => wallClock(z.zone, now)).filter(Boolean).sort();
  const clock = clocks.length > 1 && clocks[0] !== clocks[clocks.length - 1]
    ? `${clocks[0]}–${clocks[clocks.length - 1]} local time (${zones.length} time zones)`
    : `${clocks[0] || "?"} local time (${zones[0].zone.replaceAll("_", " ")})`;
  return { clock, verdict: data.verdict, text: VERDICTS[data.verdict] || "" };
}

export function needsWarning(data) {
  return Boolean(data) && (data.verdict === "outside" || data.verdict === "mixed");
}

function isStale(entry, now) {
  if (!entry) return true;
  const change = entry.data.next_change_at ? Date.parse(entry.data.next_change_at) : NaN;
  return now - entry.fetchedAt > STALE_MS || (!Number.isNaN(change) && now >= change);
}

async function load(caseId) {
  const data = await api("GET", `/api/cases/${caseId}/call-time`);
  known.set(caseId, { data, fetchedAt: Date.now() });
  return data;
}

function paint(node, data) {
  const said = describeCallTime(data, Date.now());
  node.replaceChildren(make("span", "call-time-clock", said.clock));
  if (said.text) {
    node.append(make("span", `call-time-verdict verdict-${said.verdict}`, said.text));
  }
  node.dataset.verdict = said.verdict;
  node.title = `Calling hours, the customer's time: ${describeHours(data.calling_hours)}`
    + (data.basis && data.basis !== "phone" ? ` (zone assumed from the ${data.basis})` : "");
}

// Before dialling outside calling hours: say so, and let the agent call anyway or not.
function warn(cell, link, caseId, data, focus = true) {
  cell.querySelector(".call-time-warning")?.remove();
  warningFor = caseId;
  const box = make("div", "call-time-warning");
  box.setAttribute("role", "alert");
  const said = describeCallTime(data, Date.now());
  box.append(make("p", "", `It is ${said.clock} for the customer: ${said.text} `
    + `(${describeHours(data.calling_hours)}).`));
  const anyway = make("a", "link-button call-anyway", "Call anyway");
  anyway.href = link.href;
  anyway.addEventListener("click", () => {
    confirmed.add(caseId);
    warningFor = null;
    box.remove();
  });
  const later = make("button", "link-button call-not-now", "Not now");
  later.type = "button";
  later.addEventListener("click", () => {
    warningFor = null;
    box.remove();
  });
  box.append(anyway, later);
  cell.append(box);
  if (focus) later.focus();
}

// The panel was closed: a warning left open there is answered "not now".
export function forgetCallWarning() {
  warningFor = null;
}

// Next to the phone link in the case panel's facts (`grid`): the customer's clock, and a
// warning before calling outside hours. A reported wrong number says so there too.
export function renderCallTime(grid, card) {
  const link = grid.querySelector('a.contact-link[href^="tel:"]');
  if (!link) return;
  const cell = link.parentElement;
  const caseId = card.case_id;
  if (card.wrong_number_at) {
    cell.append(make("span", "call-wrong-number", "reported as a wrong number"));
  }
  const node = make("span", "call-time");
  node.dataset.caseId = String(caseId);
  cell.append(node);
  link.addEventListener("click", (event) => {
    const entry = known.get(caseId);
    if (!entry || !needsWarning(entry.data) || confirmed.has(caseId)) return;
    event.preventDefault();
    warn(cell, link, caseId, entry.data);
  });
  const entry = known.get(caseId);
  if (entry) paint(node, entry.data);
  if (warningFor === caseId && entry && needsWarning(entry.data) && !confirmed.has(caseId)) {
    // Redrawn while the agent was answering it: the same question again, and the focus back on
    // it only if the redraw took the focus away (not from a note being typed elsewhere).
    const lost = !document.activeElement || document.activeElement === document.body;
    warn(cell, link, caseId, entry.data, lost);
  } else {
    warningFor = null;
  }
  if (isStale(entry, Date.now())) {
    load(caseId).then((data) => {
      if (node.isConnected) paint(node, data);
    }).catch(() => {
      node.textContent = "";
    });
  }
}

// The clock moves on, and a verdict that may have changed is asked for again.
export function refreshCallTimes() {
  const now = Date.now();
  for (const node of document.querySelectorAll(".call-time[data-case-id]")) {
    const caseId = Number(node.dataset.caseId);
    const entry = known.get(caseId);
    if (entry) paint(node, entry.data);
    if (isStale(entry, now)) {
      load(caseId).then((data) => {
        if (node.isConnected) paint(node, data);
      }).catch(() => {});
    }
  }
}
