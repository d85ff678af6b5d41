// The staffing forecast on the ops page, as data (pure, tested under Node): this hour per queue
// against the agents connected, the warning when the floor is short, and the next 24 hours'
// forecast as a Chart.js configuration. The figures are the report's (/api/ops/staffing).

import { COUNT_TICKS } from "./ops-charts.js";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const COLOURS = ["#2557d6", "#c62828", "#d9650b", "#2e7d32", "#7b1fa2", "#00838f"];
const HOURS_AHEAD = 24;

export function hourLabel(hourOfWeek) {
  const hour = hourOfWeek % 24;
  return `${DAYS[Math.floor(hourOfWeek / 24) % 7]} ${String(hour).padStart(2, "0")}:00`;
}

// One row per queue for this hour: needed, connected, short by.
export function staffingRows(report) {
  if (!report) return [];
  return report.now.map((row) => ({
    queue: row.queue, needed: row.agents_needed, connected: row.agents_connected,
    short: row.short_by, tone: row.short_by > 0 ? "bad" : "",
  }));
}

// The warning line, or "" when every queue has at least the agents the forecast needs.
export function staffingWarning(report) {
  if (!report || !report.understaffed.length) return "";
  const short = report.now.filter((row) => row.short_by > 0)
    .map((row) => `${row.queue} needs ${row.agents_needed}, has ${row.agents_connected}`
      + (row.unclaimed ? ` (${row.unclaimed} unclaimed)` : ""));
  return `Under the forecast this hour (${hourLabel(report.hour_of_week)} ${report.timezone}): `
    + `${short.join("; ")}.`;
}

// Agents needed per queue for the next 24 hours, stacked, from this hour on.
export function staffingChart(report) {
  const hours = [];
  if (report) {
    for (let step = 0; step < HOURS_AHEAD; step += 1) hours.push((report.hour_of_week + step) % 168);
  }
  const queues = report ? report.queues : [];
  return {
    type: "bar",
    data: {
      labels: hours.map(hourLabel),
      datasets: queues.map((queue, index) => ({
        label: queue.queue, data: hours.map((hour) => queue.hours[hour].agents),
        backgroundColor: COLOURS[index % COLOURS.length], stack: "agents",
      })),
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { title: { display: true, text: "Agents needed, the next 24 hours" },
        legend: { position: "bottom" } },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: COUNT_TICKS,
        title: { display: true, text: "agents" } } },
    },
  };
}

export function staffingNote(report) {
  if (!report) return "";
  const priorities = report.priorities.map((p) => `P${p}`).join("/");
  const handling = report.queues.map((q) => `${q.queue} ${q.busy_minutes} min a case`
    + (q.handling_cases ? "" : " (default: too few resolved cases)")).join(", ");
  return `Erlang C with the board's priority order, for ${Math.round(report.goal * 100)}% of `
    + `${priorities} cases tried within target, from ${report.weeks} weeks of arrivals by hour of `
    + `week (${report.timezone}), and at least one agent while a queue has unclaimed cases. `
    + `Handling: ${handling || "none measured"}. Connected: agents `
    + "(not supervisors) with a console open on this notifier.";
}
