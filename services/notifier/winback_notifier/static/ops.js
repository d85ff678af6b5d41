// winback ops page: the floor, response times, root causes and resolutions, live.
//
// The wiring, like console.js: every message (the websocket's, the controls', the API's
// answers) goes through the pure reducer (ops-state.js); this module performs its effects.
//
// ops-state.js   when to ask for which report (pure)   ops-charts.js  tiles and charts (pure)
// ops-view.js    the DOM                               connection.js  the console's websocket
// api.js         the ops API client                    session.js     the token in this tab
// ops-export.js  the BI export's address (pure)        ops-export-view.js  its form, download
// ops-staffing.js the staffing forecast's rows, warning and chart (pure)
// ops-outcomes.js the outcome loop's rows, intervals and chart (pure)

import { api } from "./api.js";
import { createConnection } from "./connection.js";
import { describeAgent } from "./profile.js";
import { createExportView } from "./ops-export-view.js";
import { initialState, reduce } from "./ops-state.js";
import { createOpsView } from "./ops-view.js";
import { storedToken, takeTokenFromUrl } from "./session.js";

const TICK_MS = 60000;
const $ = (id) => document.getElementById(id);
const el = {
  status: $("status"), statusText: $("status-text"), agent: $("agent"), page: $("ops-page"),
  forbidden: $("forbidden"),
  signinNeeded: $("signin-needed"), floorAt: $("floor-at"), tiles: $("tiles"), chase: $("chase"),
  chaseEmpty: $("chase-empty"), windowButtons: $("window-buttons"),
  monthsButtons: $("months-buttons"), bySelect: $("by-select"), measureSelect: $("measure-select"),
  slaChart: $("sla-chart"), slaTable: $("sla-table"), slaNote: $("sla-note"),
  slaError: $("sla-error"), causesChart: $("causes-chart"), codedChart: $("coded-chart"),
  trendsError: $("trends-error"), resolutionsChart: $("resolutions-chart"),
  resolutionsTable: $("resolutions-table"), resolutionsWindow: $("resolutions-window"),
  resolutionsError: $("resolutions-error"), chartsMissing: $("charts-missing"),
  staffingWarning: $("staffing-warning"), staffingChart: $("staffing-chart"),
  staffingTable: $("staffing-table"), staffingNote: $("staffing-note"),
  staffingError: $("staffing-error"), outcomesBySelect: $("outcomes-by-select"),
  outcomesChart: $("outcomes-chart"), outcomesTable: $("outcomes-table"),
  reactionsTable: $("reactions-table"), outcomesNote: $("outcomes-note"),
  outcomesError: $("outcomes-error"), outcomesEmpty: $("outcomes-empty"),
  outcomesBoxes: [$("outcomes-chart-box"), $("outcomes-table-box"), $("reactions-table-box")],
};

let state = initialState();

function dispatch(message) {
  const { state: next, effects } = reduce(state, message);
  state = next;
  for (const effect of effects) perform(effect);
  view.render(state);
}

function perform(effect) {
  switch (effect.type) {
    case "fetch":
      api("GET", effect.path).then(
        (data) => dispatch({ type: "api.loaded", report: effect.report, data }),
        (error) => dispatch({ type: "api.failed", report: effect.report, status: error.status,
          error: error.message }),
      );
      break;
    case "live":
      connection.markLive();
      break;
    case "forbidden":
      connection.disconnect();
      connection.signedOut();
      break;
    default:
      console.warn("winback ops: unknown effect ignored", effect);
  }
}

const view = createOpsView({ el, dispatch });
const exportView = createExportView({
  form: $("export-form"), from: $("export-from"), to: $("export-to"), queue: $("export-queue"),
  reason: $("export-reason"), status: $("export-status"),
  buttons: [...document.querySelectorAll("#export-form button[data-format]")],
});
const connection = createConnection({
  onMessage: (message) => {
    if (message && message.type === "hello") {
      el.agent.textContent = describeAgent(message.agent);
      exportView.setReasons(message.agent && message.agent.root_causes);
    }
    dispatch(message);
  },
  onStatus: (name, text) => {
    el.status.dataset.state = name;
    el.statusText.textContent = text;
  },
  onRejected: () => {
    el.page.hidden = true;
    el.signinNeeded.hidden = false;
  },
  reconnect: () => connection.connect(storedToken()),
});

takeTokenFromUrl();
if (storedToken()) {
  connection.connect(storedToken());
  setInterval(() => dispatch({ type: "tick" }), TICK_MS);
} else {
  el.signinNeeded.hidden = false;
}
