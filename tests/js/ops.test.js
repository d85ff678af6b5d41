// The ops page without a browser: when it asks for which report, and what its tiles and charts
// are made of, fed the reports the API really sends (tests/js/ops-reports.json, held to the
// server's models by tests/unit/test_console_js.py).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  compensationText, duration, resolutionChart, slaChart, slaRows, tiles, topCodes, trendChart,
} from "../../services/notifier/winback_notifier/static/ops-charts.js";
import {
  initialState, mayReadOps, reduce, reportPath, windowStart,
} from "../../services/notifier/winback_notifier/static/ops-state.js";
import {
  hourLabel, staffingChart, staffingRows, staffingWarning,
} from "../../services/notifier/winback_notifier/static/ops-staffing.js";
import {
  meanText, outcomeChart, outcomeRows, outcomesEmpty, rateText, reactionRows,
} from "../../services/notifier/winback_notifier/static/ops-outcomes.js";
import { HELLO } from "./support.js";

const REPORTS = JSON.parse(readFileSync(new URL("./ops-reports.json", import.meta.url), "utf8"));
const NOW = Date.parse("2026-11-30T15:30:00Z");

function run(messages, state = initialState()) {
  const effects = [];
  let current = state;
  for (const message of messages) {
    const result = reduce(current, message, NOW);
    current = result.state;
    effects.push(...result.effects);
  }
  return { state: current, effects };
}

const fetched = (effects) => effects.filter((e) => e.type === "fetch").map((e) => e.report);

describe("who may see the page", () => {
  test("an agent's hello makes the page refuse, and it asks for nothing", () => {
    const { state, effects } = run([HELLO.agent, { type: "case.changed" }, { type: "tick" }]);
    assert.equal(state.forbidden, true);
    assert.deepEqual(effects, [{ type: "forbidden" }]);
    assert.equal(mayReadOps(state.profile), false);
  });

  test("a supervisor's hello asks for every report once", () => {
    const { state, effects } = run([HELLO.supervisor]);
    assert.equal(state.forbidden, false);
    assert.deepEqual(fetched(effects), ["floor", "sla", "trends", "resolutions", "staffing", "outcomes"]);
    assert.ok(mayReadOps({ role: "admin" }));
    assert.equal(state.labels.long_wait, "Long hold or wait"); // the taxonomy's words, for charts
  });

  test("a 403 from the API refuses too (the role changed under the page)", () => {
    const { state, effects } = run([HELLO.supervisor,
      { type: "api.failed", report: "floor", status: 403, error: "forbidden" }]);
    assert.equal(state.forbidden, true);
    assert.equal(effects.at(-1).type, "forbidden");
  });
});

describe("live", () => {
  test("a case event asks for the floor and the SLA again, once while they are on their way", () => {
    const signedIn = run([HELLO.supervisor]).state;
    const { state, effects } = run([{ type: "case.changed" }, { type: "case.opened" },
      { type: "case.changed" }], signedIn);
    assert.deepEqual(fetched(effects), []); // all four still in flight from the hello
    assert.equal(state.reports.floor.stale, true);
    assert.equal(state.reports.trends.stale, false);
    const landed = run([{ type: "api.loaded", report: "floor", data: REPORTS.floor }], state);
    assert.deepEqual(fetched(landed.effects), ["floor"]); // the burst costs one more request
    assert.equal(landed.state.reports.floor.data, REPORTS.floor);
    const again = run([{ type: "api.loaded", report: "floor", data: REPORTS.floor }], landed.state);
    assert.deepEqual(fetched(again.effects), []);
  });

  test("with nothing on its way, an event fetches at once; a snapshot says the page is live", () => {
    let state = run([HELLO.supervisor]).state;
    for (const report of ["floor", "sla", "trends", "resolutions", "staffing", "outcomes"]) {
      state = run([{ type: "api.loaded", report, data: REPORTS[report] }], state).state;
    }
    assert.deepEqual(fetched(run([{ type: "case.changed" }], state).effects), ["floor", "sla"]);
    assert.deepEqual(fetched(run([{ type: "cases.changed" }], state).effects), ["floor", "sla"]);
    assert.deepEqual(run([{ type: "snapshot" }], state).effects.map((e) => e.type),
      ["fetch", "fetch", "live"]);
    // Every report but the outcomes (costly, slow to change: read when the page opens).
    assert.deepEqual(fetched(run([{ type: "tick" }], state).effects),
      ["floor", "sla", "trends", "resolutions", "staffing"]);
  });

  test("a failed request keeps the last figures and says so", () => {
    let state = run([HELLO.supervisor, { type: "api.loaded", report: "sla", data: REPORTS.sla }])
      .state;
    state = run([{ type: "tick" }, { type: "api.failed", report: "sla", status: 502,
      error: "bad gateway" }], state).state;
    assert.equal(state.reports.sla.data, REPORTS.sla);
    assert.equal(state.reports.sla.error, "bad gateway");
  });
});

describe("controls", () => {
  const loaded = () => {
    let state = run([HELLO.supervisor]).state;
    for (const report of ["floor", "sla", "trends", "resolutions", "staffing", "outcomes"]) {
      state = run([{ type: "api.loaded", report, data: REPORTS[report] }], state).state;
    }
    return state;
  };

  test("each control asks for the reports it shapes, with the new parameters", () => {
    const byQueue = run([{ type: "ui.control", name: "by", value: "queue" }], loaded());
    assert.deepEqual(byQueue.effects.map((e) => e.path), [
      `/api/ops/sla?by=queue&since=${encodeURIComponent(windowStart("today", NOW).toISOString())}`,
    ]);
    const month = run([{ type: "ui.control", name: "window", value: "30d" }], loaded());
    assert.deepEqual(fetched(month.effects), ["sla", "resolutions"]);
    assert.match(month.effects[1].path, /since=2026-10-31T15%3A30%3A00.000Z$/);
    const year = run([{ type: "ui.control", name: "months", value: 12 }], loaded());
    assert.deepEqual(fetched(year.effects), ["trends"]);
    assert.match(year.effects[0].path, /granularity=week&since=2025-11-30/);
    const measure = run([{ type: "ui.control", name: "measure", value: "time_to_claim" }],
      loaded());
    assert.deepEqual(measure.effects, []); // the SLA report already carries every measure
    assert.equal(measure.state.controls.measure, "time_to_claim");
    assert.deepEqual(run([{ type: "ui.control", name: "by", value: "priority" }], loaded()).effects,
      []);
  });

  test("windows: today starts at local midnight, the others count days back", () => {
    const today = windowStart("today", NOW);
    assert.equal(today.getHours(), 0);
    assert.ok(today.getTime() <= NOW && NOW - today.getTime() < 86400000);
    assert.equal(NOW - windowStart("7d", NOW).getTime(), 7 * 86400000);
    assert.equal(reportPath("floor", initialState().controls, NOW), "/api/ops/floor");
  });
});

describe("what is drawn", () => {
  test("tiles show the floor's own figures", () => {
    const shown = Object.fromEntries(tiles(REPORTS.floor).map((t) => [t.id, t]));
    assert.equal(shown.open.value, "6");
    assert.equal(shown.open.detail, "P1 3 · P2 3\nopen 5 · claimed 1");
    assert.equal(shown.breached.value, "2");
    assert.equal(shown.breached.tone, "bad");
    assert.equal(shown["at-risk"].tone, "warn");
    assert.equal(shown.oldest.value, "45 min");
    assert.equal(shown.consoles.value, "3");
    assert.deepEqual(tiles(null), []);
  });

  test("the SLA chart draws p50 and p90 in minutes with the contact target beside them", () => {
    const chart = slaChart(REPORTS.sla, "time_to_first_attempt");
    assert.deepEqual(chart.data.labels, ["P1", "P2"]);
    const [p50, p90, target] = chart.data.datasets;
    assert.deepEqual(p50.data, [5, null]);
    assert.deepEqual(p90.data, [10, null]);
    assert.equal(target.label, "contact target");
    assert.deepEqual(target.data, [10, 15]);
    assert.equal(slaChart(REPORTS.sla, "time_to_alert").data.datasets.length, 2);
  });

  test("the SLA chart leaves room above a target as tall as the tallest value", () => {
    const grace = slaChart(REPORTS.sla, "time_to_first_attempt").options.scales.y.grace;
    assert.ok(Number.parseFloat(grace) > 0, `grace ${grace}`);
  });

  test("a lone group's target is a marker as wide as a bar, not a dash", () => {
    const lone = { ...REPORTS.sla, rows: REPORTS.sla.rows.slice(0, 1) };
    const [, , target] = slaChart(lone, "time_to_first_attempt").data.datasets;
    const [, , joined] = slaChart(REPORTS.sla, "time_to_first_attempt").data.datasets;
    assert.equal(target.showLine, false);
    assert.ok(target.pointRadius > joined.pointRadius);
  });

  test("axes that count cases or agents step by whole numbers", () => {
    const counted = [
      trendChart(REPORTS.trends, "root_causes").options.scales.y,
      trendChart(REPORTS.trends, "coded_reasons").options.scales.y,
      resolutionChart(REPORTS.resolutions).options.scales.x,
      staffingChart(REPORTS.staffing).options.scales.y,
    ];
    for (const axis of counted) assert.equal(axis.ticks.precision, 0);
  });

  test("the SLA table reads the report's share, with what it counts", () => {
    const rows = slaRows(REPORTS.sla);
    assert.deepEqual(rows.map((r) => r.key), ["P1", "P2", "all"]);
    assert.equal(rows[0].within, "50% (1/2)");
    assert.equal(rows[0].target, "10 min");
    assert.equal(rows[1].cells[2], "– / –");
  });

  test("the weekly chart has a zero for a quiet week, and the agreement share", () => {
    const chart = trendChart(REPORTS.trends, "root_causes");
    assert.deepEqual(chart.data.labels, ["2026-W47", "2026-W48"]);
    const [billing, rude, agreed] = chart.data.datasets;
    assert.equal(billing.label, "billing_error");
    assert.deepEqual(billing.data, [2, 0]);
    assert.deepEqual(rude.data, [1, 0]);
    assert.deepEqual(agreed.data, [67, null]);
    assert.equal(agreed.yAxisID, "share");
    const coded = trendChart(REPORTS.trends, "coded_reasons", (code) => code.toUpperCase());
    assert.deepEqual(coded.data.datasets.map((d) => d.label), ["BILLING_ERROR", "LONG_WAIT"]);
  });

  test("the busiest causes fill the chart", () => {
    const periods = [{ c: { a: 1, b: 5 } }, { c: { a: 1, c: 2, d: 2 } }];
    assert.deepEqual(topCodes(periods, "c", 3), ["b", "a", "c"]);
  });

  test("resolutions: what was offered and the reactions, per root cause", () => {
    const chart = resolutionChart(REPORTS.resolutions);
    const byLabel = Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data]));
    assert.deepEqual(byLabel.Apology, [2]);
    assert.deepEqual(byLabel.Compensation, [1]);
    assert.deepEqual(byLabel["customer neutral"], [0]);
    assert.deepEqual(byLabel["customer dissatisfied"], [1]);
    assert.equal(compensationText(REPORTS.resolutions.rows[0]), "15.50 EUR, 20.00 USD");
    assert.equal(compensationText({ compensation_value: {} }), "–");
  });

  test("durations read at a glance", () => {
    assert.deepEqual([0.42, 45, 600, 9000, 259200, null].map(duration),
      ["0.4 s", "45 s", "10 min", "2.5 h", "3.0 d", "–"]);
  });
});

describe("staffing", () => {
  test("this hour per queue against the agents connected, and the warning when short", () => {
    assert.equal(reportPath("staffing", initialState().controls, NOW), "/api/ops/staffing");
    assert.deepEqual(staffingRows(REPORTS.staffing), [
      { queue: "billing", needed: 5, connected: 1, short: 4, tone: "bad" },
      { queue: "default", needed: 1, connected: 2, short: 0, tone: "" },
    ]);
    assert.equal(staffingWarning(REPORTS.staffing),
      "Under the forecast this hour (Mon 09:00 UTC): billing needs 5, has 1 (3 unclaimed).");
    const enough = { ...REPORTS.staffing, understaffed: [] };
    assert.equal(staffingWarning(enough), "");
    assert.equal(staffingWarning(null), "");
  });

  test("the chart stacks each queue's next 24 hours from this one, wrapping the week", () => {
    const chart = staffingChart(REPORTS.staffing);
    assert.equal(chart.data.labels.length, 24);
    assert.equal(chart.data.labels[0], "Mon 09:00");
    assert.deepEqual(chart.data.datasets.map((d) => d.label), ["billing", "default"]);
    assert.equal(chart.data.datasets[0].data[0], 5);
    assert.equal(chart.data.datasets[0].data[1], 0);
    const late = staffingChart({ ...REPORTS.staffing, hour_of_week: 167 });
    assert.equal(late.data.labels[0], "Sun 23:00");
    assert.equal(late.data.labels[1], "Mon 00:00");
    assert.equal(hourLabel(33), "Tue 09:00");
  });
});

describe("outcomes", () => {
  test("rows per breakdown with counts and intervals, the total last", () => {
    const rows = outcomeRows(REPORTS.outcomes, "resolution");
    assert.deepEqual(rows.map((row) => [row.key, row.cases, row.linked]), [
      ["apology", 2, 2], ["compensation", 1, 1], ["apology + compensation", 1, 0], ["all", 4, 3],
    ]);
    // 2 of 2 recovered: Wilson 34-100 %; +7 and +7: no spread, so the interval is a point.
    assert.deepEqual(rows[0].cells.slice(0, 2), ["100% (34%–100%, n=2)", "+7.0 (+7.0 to +7.0, n=2)"]);
    assert.equal(rows[1].cells[3], "–"); // 20 EUR given, nobody recovered: no cost per recovered
    assert.equal(rows.at(-1).cells[3], "10.00 EUR"); // 20 EUR on measured cases / 2 recovered
    assert.equal(rateText({ hits: 0, n: 0, rate: null, low: null, high: null }), "–");
    assert.equal(meanText({ n: 1, mean: -2, low: null, high: null }), "-2.0 (n=1)");
  });

  test("no case resolved yet: a line saying what will appear and when, instead of the tables", () => {
    const empty = outcomesEmpty(REPORTS.outcomes_empty);
    assert.match(empty, /^No cases resolved since .+\. Each one appears here once resolved, /);
    assert.match(empty, /another survey within 90 days\.$/); // the report's own window
    assert.equal(outcomesEmpty(REPORTS.outcomes), "");
    assert.equal(outcomesEmpty(null), ""); // not read yet: nothing to say
  });

  test("the reaction at resolution next to the after-score", () => {
    const rows = Object.fromEntries(reactionRows(REPORTS.outcomes).map((r) => [r.reaction, r]));
    assert.equal(rows.satisfied.after, "8.5 (2.1 to 14.9, n=2)");
    assert.equal(rows.dissatisfied.after, "–");
    assert.equal(rows.neutral.recovered, "0% (0%–79%, n=1)");
  });

  test("the chart: recovered points inside their interval bars, groups without a measure left out", () => {
    const chart = outcomeChart(REPORTS.outcomes, "resolution");
    assert.deepEqual(chart.data.labels, ["apology", "compensation"]);
    assert.deepEqual(chart.data.datasets[1].data, [100, 0]);
    assert.ok(Math.abs(chart.data.datasets[0].data[0][0] - 34.24) < 1e-9);
    const control = run([HELLO.supervisor, { type: "ui.control", name: "outcomesBy",
      value: "first_contact" }]);
    assert.equal(control.state.controls.outcomesBy, "first_contact");
    assert.deepEqual(fetched(control.effects), ["floor", "sla", "trends", "resolutions",
      "staffing", "outcomes"]); // the hello's; the breakdown asks for nothing more
  });
});
