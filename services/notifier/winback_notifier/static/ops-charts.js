// What the ops page shows, as data: its tiles and its charts' configurations (Chart.js's plain
// objects), built from the ops API's reports. Pure, so Node tests them without a browser or
// Chart.js. Nothing here computes a figure: values are the reports' own, only converted to the
// unit a chart shows (seconds to minutes) or picked (the causes that fill a chart).

export const MEASURES = {
  time_to_alert: "Time to alert",
  time_to_claim: "Time to claim",
  time_to_first_attempt: "Time to first attempt",
  time_to_first_contact: "Time to first successful contact",
  time_to_resolution: "Time to resolution",
};
// The contact target is what the first attempt is judged against; it is a fair yardstick for
// the claim and the first reach too, and meaningless next to the alert or the resolution.
const TARGET_MEASURES = new Set(["time_to_claim", "time_to_first_attempt",
  "time_to_first_contact"]);
const COLOURS = ["#2557d6", "#c62828", "#d9650b", "#2e7d32", "#7b1fa2", "#00838f", "#5b6b80",
  "#a77d00"];
export const TOP_CAUSES = 6;
// Axes that count cases or agents: whole ticks. Chart.js otherwise steps a small count by 0.2
// ("1.6 agents", "0.4 cases"), which a supervisor on a quiet floor reads as a broken chart.
export const COUNT_TICKS = Object.freeze({ precision: 0 });

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "–";
  const value = Number(seconds);
  if (value < 10) return `${value.toFixed(1)} s`;
  if (value < 120) return `${Math.round(value)} s`;
  if (value < 7200) return `${Math.round(value / 60)} min`;
  if (value < 172800) return `${(value / 3600).toFixed(1)} h`;
  return `${(value / 86400).toFixed(1)} d`;
}

export function share(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function minutes(seconds) {
  return seconds === null || seconds === undefined ? null : Math.round(seconds / 6) / 10;
}

// ---- tiles -------------------------------------------------------------------------------------

// The floor's tiles, in reading order. `tone`: "bad" asks for action now, "warn" soon.
export function tiles(floor) {
  if (!floor) return [];
  const byPriority = {};
  const byStatus = {};
  for (const row of floor.open_by_status_and_priority || []) {
    byPriority[row.priority] = (byPriority[row.priority] || 0) + row.cases;
    byStatus[row.status] = (byStatus[row.status] || 0) + row.cases;
  }
  const list = (counts, prefix) => Object.entries(counts)
    .map(([key, n]) => `${prefix}${key} ${n}`).join(" · ") || "none";
  return [
    { id: "open", label: "Open cases", value: String(floor.open_total),
      detail: `${list(byPriority, "P")}\n${list(byStatus, "")}`, tone: "" },
    { id: "unclaimed", label: "Unclaimed", value: String(floor.unclaimed), detail: "nobody owns them",
      tone: floor.unclaimed > 0 ? "warn" : "" },
    { id: "at-risk", label: "At risk", value: String(floor.at_risk),
      detail: "SLA warning fired, not tried yet", tone: floor.at_risk > 0 ? "warn" : "" },
    { id: "breached", label: "Breached now", value: String(floor.breached_now),
      detail: "past the contact deadline, not tried", tone: floor.breached_now > 0 ? "bad" : "" },
    { id: "oldest", label: "Oldest unclaimed", value: duration(floor.oldest_unclaimed_seconds),
      detail: floor.oldest_unclaimed_opened_at ? "waiting since it opened" : "no case waiting",
      tone: "" },
    { id: "consoles", label: "Consoles connected", value: String(floor.consoles_connected_here),
      detail: "on this notifier, this page included", tone: "" },
  ];
}

// ---- SLA ---------------------------------------------------------------------------------------

// p50 and p90 bars per group, in minutes, and the group's contact target as a line to read the
// bars against (for the measures it applies to).
export function slaChart(report, measure) {
  const rows = report ? report.rows : [];
  const labels = rows.map((row) => row.key);
  const datasets = [
    { type: "bar", label: "p50", data: rows.map((row) => minutes(row[measure].p50)),
      backgroundColor: "#2557d6", order: 2 },
    { type: "bar", label: "p90", data: rows.map((row) => minutes(row[measure].p90)),
      backgroundColor: "#9fb8f0", order: 2 },
  ];
  if (TARGET_MEASURES.has(measure)) {
    datasets.push({
      type: "line", label: "contact target", data: rows.map((row) => minutes(row.contact_target.p50)),
      // Alone (one group, no line to join), the target is only its marker: make it a bar wide.
      borderColor: "#c62828", backgroundColor: "#c62828", borderDash: [6, 4],
      pointRadius: rows.length > 1 ? 4 : 24, pointBorderWidth: 3,
      pointStyle: "line", showLine: rows.length > 1, order: 1,
    });
  }
  return {
    type: "bar",
    data: { labels, datasets },
    // The grace keeps a target equal to the tallest value off the top edge, where the chart
    // area clipped it to a sliver (one group whose target is the axis's maximum).
    options: chartOptions({ y: { beginAtZero: true, grace: "10%",
      title: { display: true, text: "minutes" } } }, `${MEASURES[measure] || measure}, minutes`),
  };
}

// The SLA table: one line per group, then the total.
export function slaRows(report) {
  if (!report) return [];
  return [...report.rows, report.total].map((row) => ({
    key: row.key,
    cases: row.cases,
    cells: Object.keys(MEASURES).map((name) => `${duration(row[name].p50)} / ${duration(row[name].p90)}`),
    target: duration(row.contact_target.p50),
    within: row.decided ? `${share(row.within_target_share)} (${row.within_target}/${row.decided})`
      : "–",
    overdue: row.overdue_now,
  }));
}

// ---- root causes by week ------------------------------------------------------------------------

// The codes that fill a chart: the most frequent over the window, the rest left to the table.
export function topCodes(periods, field, limit = TOP_CAUSES) {
  const totals = new Map();
  for (const period of periods) {
    for (const [code, n] of Object.entries(period[field] || {})) {
      totals.set(code, (totals.get(code) || 0) + n);
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, limit).map(([code]) => code);
}

// One line per cause over the weeks (a week without it is a zero, not a gap); for confirmed
// causes, the share that agreed with the coding on a second axis.
export function trendChart(trends, field, labelOf = (code) => code) {
  const periods = trends ? trends.periods : [];
  const codes = topCodes(periods, field);
  const datasets = codes.map((code, index) => ({
    type: "line", label: labelOf(code), data: periods.map((p) => (p[field] || {})[code] || 0),
    borderColor: COLOURS[index % COLOURS.length], backgroundColor: COLOURS[index % COLOURS.length],
    tension: 0.2, pointRadius: 2, yAxisID: "y",
  }));
  const scales = { y: { beginAtZero: true, ticks: COUNT_TICKS,
    title: { display: true, text: "cases" } } };
  if (field === "root_causes") {
    datasets.push({
      type: "line", label: "agreed with the coding",
      data: periods.map((p) => (p.agreement_share === null ? null : Math.round(p.agreement_share * 100))),
      borderColor: "#17202e", backgroundColor: "#17202e", borderDash: [4, 4], pointRadius: 2,
      spanGaps: true, yAxisID: "share",
    });
    scales.share = { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
      title: { display: true, text: "% agreed" } };
  }
  return {
    type: "line",
    data: { labels: periods.map((p) => p.period), datasets },
    options: chartOptions(scales, field === "root_causes" ? "Root causes confirmed, by week"
      : "Reasons coded, by week"),
  };
}

// ---- resolutions ---------------------------------------------------------------------------------

export const OFFERS = { apology: "Apology", explanation: "Explanation",
  compensation: "Compensation", process_change: "Process change" };
export const REACTIONS = { satisfied: "#2e7d32", neutral: "#a77d00", dissatisfied: "#c62828" };
// Offers in cool colours, reactions in the traffic-light ones: the two stacks never look alike.
const OFFER_COLOURS = ["#2557d6", "#7b1fa2", "#00838f", "#8aa4d6"];

// What was offered per root cause (a case may get several), and how customers took it.
export function resolutionChart(report, labelOf = (code) => code) {
  const rows = report ? report.rows : [];
  const labels = rows.map((row) => labelOf(row.key));
  const offers = Object.entries(OFFERS).map(([key, label], index) => ({
    label, data: rows.map((row) => row[key]), backgroundColor: OFFER_COLOURS[index],
    stack: "offered",
  }));
  const reactions = Object.entries(REACTIONS).map(([key, colour]) => ({
    label: `customer ${key}`, data: rows.map((row) => row.reactions[key] || 0),
    backgroundColor: colour, stack: "reaction",
  }));
  return {
    type: "bar",
    data: { labels, datasets: [...offers, ...reactions] },
    options: { ...chartOptions({ x: { beginAtZero: true, ticks: COUNT_TICKS,
      title: { display: true, text: "cases" } } },
      "Offered, and how customers took it, by root cause"), indexAxis: "y" },
  };
}

export function compensationText(row) {
  const parts = Object.entries(row.compensation_value || {})
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([currency, value]) => `${value.toFixed(2)} ${currency}`);
  return parts.length ? parts.join(", ") : "–";
}

function chartOptions(scales, title) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
    scales,
  };
}
