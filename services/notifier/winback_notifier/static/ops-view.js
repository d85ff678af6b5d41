// The ops page's DOM: tiles, the chase list, tables and charts, drawn from the state the pure
// reducer (ops-state.js) keeps, with the shapes ops-charts.js makes. Text only ever goes in
// with textContent (dom.js); charts are Chart.js, loaded by ops.html from this origin, and the
// page keeps working with the tables alone when it is not installed.

import { make } from "./dom.js";
import { fromNow, humanise } from "./format.js";
import {
  compensationText, MEASURES, OFFERS, resolutionChart, slaChart, slaRows, tiles, trendChart,
} from "./ops-charts.js";
import { DIMENSIONS, MONTHS, WINDOWS } from "./ops-state.js";
import {
  OUTCOME_DIMENSIONS, outcomeChart, outcomeNote, outcomeRows, outcomesEmpty, reactionRows,
} from "./ops-outcomes.js";
import { staffingChart, staffingNote, staffingRows, staffingWarning } from "./ops-staffing.js";

export function createOpsView({ el, dispatch }) {
  const charts = new Map();

  function fillControls() {
    for (const [value, label] of Object.entries(WINDOWS)) {
      el.windowButtons.append(controlButton(label, "window", value));
    }
    for (const months of MONTHS) {
      el.monthsButtons.append(controlButton(`${months} months`, "months", months));
    }
    for (const dimension of DIMENSIONS) el.bySelect.append(option(dimension, dimension));
    for (const [value, label] of Object.entries(MEASURES)) {
      el.measureSelect.append(option(value, label));
    }
    el.bySelect.addEventListener("change",
      () => dispatch({ type: "ui.control", name: "by", value: el.bySelect.value }));
    for (const [value, label] of Object.entries(OUTCOME_DIMENSIONS)) {
      el.outcomesBySelect.append(option(value, label));
    }
    el.outcomesBySelect.addEventListener("change", () => dispatch(
      { type: "ui.control", name: "outcomesBy", value: el.outcomesBySelect.value }));
    el.measureSelect.addEventListener("change",
      () => dispatch({ type: "ui.control", name: "measure", value: el.measureSelect.value }));
  }

  function controlButton(label, name, value) {
    const node = make("button", "", label);
    node.type = "button";
    node.dataset.control = name;
    node.dataset.value = String(value);
    node.addEventListener("click", () => dispatch({ type: "ui.control", name, value }));
    return node;
  }

  function option(value, label) {
    const node = make("option", "", label);
    node.value = value;
    return node;
  }

  // Chart.js keeps its own canvas state: a chart is made once and then given new data.
  function draw(key, canvas, config) {
    const Chart = globalThis.Chart;
    el.chartsMissing.hidden = Boolean(Chart);
    canvas.parentElement.hidden = !Chart;
    if (!Chart) return;
    const existing = charts.get(key);
    if (existing && existing.config.type === config.type) {
      existing.data = config.data;
      existing.options = config.options;
      existing.update();
      return;
    }
    if (existing) existing.destroy();
    charts.set(key, new Chart(canvas, config));
  }

  function render(state) {
    el.page.hidden = state.forbidden || !state.profile;
    el.forbidden.hidden = !state.forbidden;
    if (state.forbidden || !state.profile) return;
    const labelOf = (code) => state.labels[code] || humanise(code);
    for (const node of document.querySelectorAll("button[data-control]")) {
      const pressed = String(state.controls[node.dataset.control]) === node.dataset.value;
      node.setAttribute("aria-pressed", String(pressed));
    }
    el.bySelect.value = state.controls.by;
    el.measureSelect.value = state.controls.measure;
    el.outcomesBySelect.value = state.controls.outcomesBy;
    const { floor, sla, trends, resolutions, staffing, outcomes } = state.reports;
    renderFloor(floor.data);
    showError(el.slaError, sla.error);
    if (sla.data) {
      draw("sla", el.slaChart, slaChart(sla.data, state.controls.measure));
      renderSla(sla.data, labelOf);
    }
    showError(el.trendsError, trends.error);
    if (trends.data) {
      draw("causes", el.causesChart, trendChart(trends.data, "root_causes", labelOf));
      draw("coded", el.codedChart, trendChart(trends.data, "coded_reasons", labelOf));
    }
    showError(el.resolutionsError, resolutions.error);
    if (resolutions.data) {
      draw("resolutions", el.resolutionsChart, resolutionChart(resolutions.data, labelOf));
      renderResolutions(resolutions.data, labelOf);
    }
    showError(el.outcomesError, outcomes.error);
    if (outcomes.data) {
      draw("outcomes", el.outcomesChart,
        outcomeChart(outcomes.data, state.controls.outcomesBy, labelOf));
      renderOutcomes(outcomes.data, state.controls.outcomesBy, labelOf);
    }
    showError(el.staffingError, staffing.error);
    if (staffing.data) {
      draw("staffing", el.staffingChart, staffingChart(staffing.data));
      renderStaffing(staffing.data);
    }
  }

  function renderOutcomes(report, by, labelOf) {
    const empty = outcomesEmpty(report);
    el.outcomesEmpty.hidden = !empty;
    el.outcomesEmpty.textContent = empty;
    for (const box of el.outcomesBoxes) box.hidden = Boolean(empty);
    const head = make("tr");
    for (const text of [OUTCOME_DIMENSIONS[by], "resolved", "measured", "recovered",
      "score change (0–10)", "re-complaint", "compensation per recovered"]) {
      head.append(make("th", "", text));
    }
    el.outcomesTable.tHead.replaceChildren(head);
    el.outcomesTable.tBodies[0].replaceChildren(...outcomeRows(report, by).map((row) => {
      const line = make("tr", row.key === "all" ? "total" : "");
      line.dataset.key = row.key;
      const key = by === "reason" && row.key !== "all" ? labelOf(row.key) : row.key;
      line.append(make("th", "", key), make("td", "", row.cases), make("td", "", row.linked),
        ...row.cells.map((cell) => make("td", "", cell)));
      return line;
    }));
    const reactionHead = make("tr");
    for (const text of ["reaction recorded at resolution", "resolved", "measured",
      "after-score (0–10)", "recovered"]) {
      reactionHead.append(make("th", "", text));
    }
    el.reactionsTable.tHead.replaceChildren(reactionHead);
    el.reactionsTable.tBodies[0].replaceChildren(...reactionRows(report).map((row) => {
      const line = make("tr");
      line.dataset.reaction = row.reaction;
      line.append(make("th", "", row.reaction), make("td", "", row.cases),
        make("td", "", row.linked), make("td", "", row.after), make("td", "", row.recovered));
      return line;
    }));
    el.outcomesNote.textContent = outcomeNote(report);
  }

  function renderStaffing(report) {
    const warning = staffingWarning(report);
    el.staffingWarning.hidden = !warning;
    el.staffingWarning.textContent = warning;
    const head = make("tr");
    for (const text of ["queue", "agents needed now", "agents connected", "short by"]) {
      head.append(make("th", "", text));
    }
    el.staffingTable.tHead.replaceChildren(head);
    el.staffingTable.tBodies[0].replaceChildren(...staffingRows(report).map((row) => {
      const line = make("tr", row.tone ? `row-${row.tone}` : "");
      line.dataset.queue = row.queue;
      line.append(make("th", "", row.queue), make("td", "", row.needed),
        make("td", "", row.connected), make("td", "", row.short));
      return line;
    }));
    el.staffingNote.textContent = staffingNote(report);
  }

  function showError(node, error) {
    node.hidden = !error;
    node.textContent = error ? `Could not refresh: ${error}. Showing the last figures.` : "";
  }

  function renderFloor(floor) {
    if (!floor) return;
    el.floorAt.textContent = `As of ${new Date(floor.at).toLocaleTimeString()}, live`;
    el.tiles.replaceChildren(...tiles(floor).map((tile) => {
      const node = make("div", `tile${tile.tone ? ` tile-${tile.tone}` : ""}`);
      node.dataset.tile = tile.id;
      node.append(make("div", "tile-label", tile.label), make("div", "tile-value", tile.value),
        make("div", "tile-detail", tile.detail));
      return node;
    }));
    el.chaseEmpty.hidden = floor.chase.length > 0;
    el.chase.replaceChildren(...floor.chase.map((item) => {
      const link = make("a", `chase-item chase-${item.state}`);
      link.href = `/#case=${item.case_id}`;
      link.dataset.caseId = String(item.case_id);
      link.append(
        make("span", `chase-state`, item.state === "breached" ? "Breached" : "At risk"),
        make("span", `priority-tag p${item.priority}`, `P${item.priority}`),
        make("span", "chase-customer", item.customer || `Case ${item.case_id}`),
        make("span", "chase-meta",
          `${item.queue} · ${item.owner || "unclaimed"} · ${humanise(item.status)}`),
        make("span", "chase-due", item.contact_due_at
          ? `deadline ${fromNow(item.contact_due_at)}` : ""),
      );
      const row = make("li");
      row.append(link);
      return row;
    }));
  }

  function renderSla(report, labelOf) {
    const head = make("tr");
    for (const text of [report.by, "cases", ...Object.values(MEASURES).map(
      (label) => label.replace("Time to ", "")), "contact target", "within target", "overdue now"]) {
      head.append(make("th", "", text));
    }
    el.slaTable.tHead.replaceChildren(head);
    el.slaTable.tBodies[0].replaceChildren(...slaRows(report).map((row) => {
      const line = make("tr", row.key === "all" ? "total" : "");
      const key = report.by === "reason" ? labelOf(row.key) : row.key;
      line.append(make("th", "", key), make("td", "", row.cases),
        ...row.cells.map((cell) => make("td", "", cell)), make("td", "", row.target),
        make("td", "", row.within), make("td", "", row.overdue));
      return line;
    }));
    const targets = Object.entries(report.targets_minutes).map(([p, m]) => `P${p} ${m} min`);
    el.slaNote.textContent = `Times are p50 / p90 of the cases opened since `
      + `${new Date(report.since).toLocaleString()}. Contact targets: ${targets.join(", ")}; `
      + "each case is judged by the deadline stored when it opened (business hours included).";
  }

  function renderResolutions(report, labelOf) {
    el.resolutionsWindow.textContent = `Resolved since ${new Date(report.since).toLocaleString()}`;
    const head = make("tr");
    for (const text of ["root cause", "cases", ...Object.values(OFFERS), "compensation value",
      "satisfied", "neutral", "dissatisfied"]) {
      head.append(make("th", "", text));
    }
    el.resolutionsTable.tHead.replaceChildren(head);
    el.resolutionsTable.tBodies[0].replaceChildren(...[...report.rows, report.total].map((row) => {
      const line = make("tr", row.key === "all" ? "total" : "");
      line.append(make("th", "", row.key === "all" ? "all" : labelOf(row.key)),
        make("td", "", row.cases), ...Object.keys(OFFERS).map((key) => make("td", "", row[key])),
        make("td", "", compensationText(row)),
        ...["satisfied", "neutral", "dissatisfied"].map(
          (key) => make("td", "", row.reactions[key] || 0)));
      return line;
    }));
  }

  fillControls();
  return { render };
}
