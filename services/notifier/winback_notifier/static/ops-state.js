// The ops page as data, and what each message does to it.
//
// `reduce(state, message)` is pure, like the board's reducer: next state and the effects to
// perform ({type: "fetch", report, path} | "live" | "forbidden"). ops.js performs them.
//
// The page computes no figure: every number comes from one of the ops API's reports, the same
// queries the CLI prints. What this module decides is *when* to ask again. The live websocket
// (the console's own: supervisors get every queue's changes) says something changed, so the
// floor's tiles and the SLA report are asked for again; a report already on its way is not
// asked for twice, only marked stale and asked for once more when it lands, so a burst of
// events costs two requests, not one per event. A `tick` now and then refreshes everything
// (the oldest case's age grows and consoles come and go without a case event).
//
// State: `profile`, `labels` (code -> taxonomy label), `forbidden` (agents: the page is not for
// them), `controls` (window, by, measure, months, outcomesBy), `reports` ({floor, sla, trends,
// resolutions, staffing, outcomes}: {data, inFlight, stale, error}).

import { mayReadOps } from "./profile.js";

export { mayReadOps };
export const REPORTS = ["floor", "sla", "trends", "resolutions", "staffing", "outcomes"];
export const WINDOWS = { today: "Today", "7d": "7 days", "30d": "30 days" };
export const DIMENSIONS = ["priority", "queue", "reason", "agent"];
export const MONTHS = [6, 12];
const LIVE_REPORTS = ["floor", "sla"];
// The outcome report runs one customer-matching query per resolved case of the quarter: it is
// read when the page opens (a reload reads it again), not every minute.
const TICK_REPORTS = REPORTS.filter((name) => name !== "outcomes");
const DAY_MS = 86400000;

export function initialState() {
  const reports = {};
  for (const name of REPORTS) {
    reports[name] = { data: null, inFlight: false, stale: false, error: null };
  }
  return {
    profile: null,
    labels: {},
    forbidden: false,
    controls: { window: "today", by: "priority", measure: "time_to_first_attempt", months: 6,
      outcomesBy: "resolution" },
    reports,
  };
}

export function reduce(state, message, now = Date.now()) {
  switch (message && message.type) {
    case "hello":
      return hello(state, message.agent || {}, now);
    case "snapshot":
      return withEffect(ask(state, LIVE_REPORTS, now), { type: "live" });
    case "case.opened":
    case "case.updated":
    case "case.changed":
    case "cases.changed":
      return state.forbidden ? unchanged(state) : ask(state, LIVE_REPORTS, now);
    case "tick":
      return state.forbidden ? unchanged(state) : ask(state, TICK_REPORTS, now);
    case "ui.control":
      return control(state, message.name, message.value, now);
    case "api.loaded":
      return landed(state, message.report, { data: message.data, error: null }, now);
    case "api.failed":
      return failed(state, message, now);
    default:
      return unchanged(state);
  }
}

function unchanged(state) {
  return { state, effects: [] };
}

function withEffect(outcome, effect) {
  return { state: outcome.state, effects: [...outcome.effects, effect] };
}

function hello(state, agent, now) {
  const profile = { name: agent.name || "", role: agent.role || "" };
  if (!mayReadOps(profile)) {
    return { state: { ...state, profile, forbidden: true }, effects: [{ type: "forbidden" }] };
  }
  // The taxonomy's words for the codes the charts name (the hello carries them).
  const labels = {};
  for (const cause of Array.isArray(agent.root_causes) ? agent.root_causes : []) {
    if (cause && cause.code) labels[cause.code] = cause.label || cause.code;
  }
  return ask({ ...state, profile, labels, forbidden: false }, REPORTS, now);
}

// Ask for these reports: each one not on its way is fetched, each one on its way marked stale.
function ask(state, names, now) {
  const reports = { ...state.reports };
  const effects = [];
  for (const name of names) {
    const current = reports[name];
    if (current.inFlight) {
      reports[name] = { ...current, stale: true };
    } else {
      reports[name] = { ...current, inFlight: true, stale: false };
      effects.push({ type: "fetch", report: name, path: reportPath(name, state.controls, now) });
    }
  }
  return { state: { ...state, reports }, effects };
}

function landed(state, name, outcome, now) {
  const current = state.reports[name];
  if (!current) return unchanged(state);
  const reports = { ...state.reports, [name]: { ...current, ...outcome, inFlight: false } };
  const next = { ...state, reports };
  return current.stale ? ask(next, [name], now) : unchanged(next);
}

function failed(state, message, now) {
  if (message.status === 403) {
    return { state: { ...state, forbidden: true }, effects: [{ type: "forbidden" }] };
  }
  const current = state.reports[message.report];
  const data = current ? current.data : null;
  return landed(state, message.report, { data, error: message.error || "failed" }, now);
}

// A new window or breakdown asks for the reports it shapes (and a stale answer for the old one
// is asked for again when it lands, with the new controls).
function control(state, name, value, now) {
  if (!(name in state.controls) || state.controls[name] === value) return unchanged(state);
  const controls = { ...state.controls, [name]: value };
  const next = { ...state, controls };
  // The SLA report carries every measure, the outcome report every breakdown.
  if (name === "measure" || name === "outcomesBy") return unchanged(next);
  const affected = name === "months" ? ["trends"] : name === "by" ? ["sla"]
    : ["sla", "resolutions"];
  return ask(next, affected, now);
}

// ---- what each report is asked with -----------------------------------------------------------

// The start of the window: today (local midnight), or so many days back from now.
export function windowStart(window, now) {
  if (window === "today") {
    const midnight = new Date(now);
    midnight.setHours(0, 0, 0, 0);
    return midnight;
  }
  const days = window === "30d" ? 30 : 7;
  return new Date(now - days * DAY_MS);
}

export function reportPath(name, controls, now) {
  const since = windowStart(controls.window, now).toISOString();
  switch (name) {
    case "floor":
      return "/api/ops/floor";
    case "staffing":
      return "/api/ops/staffing";
    case "outcomes":
      return "/api/ops/outcomes";
    case "sla":
      return `/api/ops/sla?${new URLSearchParams({ by: controls.by, since })}`;
    case "resolutions":
      return `/api/ops/resolutions?${new URLSearchParams({ since })}`;
    case "trends": {
      const start = new Date(now);
      start.setMonth(start.getMonth() - controls.months);
      return `/api/ops/root-causes?${new URLSearchParams({
        granularity: "week", since: start.toISOString(),
      })}`;
    }
    default:
      throw new Error(`unknown report ${name}`);
  }
}
