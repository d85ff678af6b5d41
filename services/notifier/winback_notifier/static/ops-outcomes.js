// The outcome loop on the ops page, as data (pure, tested under Node): per group of resolved
// cases, how many a later response measured, the recovered and re-complaint rates and the score
// change each with its 95 % interval, and the chart of recovered rates with their intervals.
// Every figure is the report's own (/api/ops/outcomes); this module only formats and picks.

export const OUTCOME_DIMENSIONS = {
  resolution: "resolution kind", reason: "reason", queue: "queue", agent: "agent",
  first_contact: "time to first contact",
};

export function rateText(rate) {
  if (!rate || rate.rate === null || rate.rate === undefined) return "–";
  const pct = (value) => `${Math.round(value * 100)}%`;
  return `${pct(rate.rate)} (${pct(rate.low)}–${pct(rate.high)}, n=${rate.n})`;
}

export function meanText(mean, signed = true) {
  if (!mean || mean.mean === null || mean.mean === undefined) return "–";
  const fmt = (value) => `${signed && value > 0 ? "+" : ""}${value.toFixed(1)}`;
  if (mean.low === null || mean.low === undefined) return `${fmt(mean.mean)} (n=1)`;
  return `${fmt(mean.mean)} (${fmt(mean.low)} to ${fmt(mean.high)}, n=${mean.n})`;
}

function costText(costs) {
  const parts = Object.entries(costs || {}).map(([currency, value]) =>
    `${value.toFixed(2)} ${currency}`);
  return parts.length ? parts.join(", ") : "–";
}

// One row per group of the chosen breakdown, then the total.
export function outcomeRows(report, by) {
  if (!report) return [];
  return [...(report.by[by] || []), report.total].map((row) => ({
    key: row.key, cases: row.cases, linked: row.linked,
    cells: [rateText(row.recovered), meanText(row.score_change), rateText(row.re_complaint),
      costText(row.compensation_per_recovered)],
  }));
}

// The reaction the agent recorded at resolution, next to the after-score measured later.
export function reactionRows(report) {
  if (!report) return [];
  return report.reactions.map((row) => ({
    reaction: row.reaction, cases: row.cases, linked: row.linked,
    after: meanText(row.after_score, false), recovered: rateText(row.recovered),
  }));
}

// Recovered rate per group (points) with its interval (floating bars), groups with a measure.
export function outcomeChart(report, by, labelOf = (key) => key) {
  const rows = report ? (report.by[by] || []).filter((row) => row.recovered.n > 0) : [];
  const label = by === "reason" ? labelOf : (key) => key;
  return {
    type: "bar",
    data: {
      labels: rows.map((row) => label(row.key)),
      datasets: [
        { type: "bar", label: "95% interval", backgroundColor: "#c9d6f2",
          data: rows.map((row) => [row.recovered.low * 100, row.recovered.high * 100]) },
        { type: "line", label: "recovered", showLine: false, pointRadius: 7, pointStyle: "rectRot",
          clip: false,
          backgroundColor: "#2557d6", borderColor: "#2557d6",
          data: rows.map((row) => row.recovered.rate * 100) },
      ],
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { title: { display: true,
        text: `Recovered, by ${OUTCOME_DIMENSIONS[by] || by} (share of measured cases)` },
      legend: { position: "bottom" } },
      scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } },
    },
  };
}

// The line shown instead of the tables while no case was resolved in the report's window: what
// will appear there, and when a case counts as measured. "" once there is anything to show.
export function outcomesEmpty(report) {
  if (!report || report.total.cases > 0) return "";
  return `No cases resolved since ${new Date(report.since).toLocaleDateString()}. Each one `
    + "appears here once resolved, and counts as measured when its customer answers another "
    + `survey within ${report.window_days} days.`;
}

export function outcomeNote(report) {
  if (!report) return "";
  return `Cases resolved since ${new Date(report.since).toLocaleDateString()}, each measured by `
    + `the customer's next survey response (any source) within ${report.window_days} days. `
    + `Recovered: 7+ on 0–10 afterwards (NPS passive or promoter) or up ${report.gain_points} `
    + "points. Rates are of the measured cases, with 95% Wilson intervals; score change "
    + "with a 95% t interval. Wide intervals mean too few cases to tell.";
}
