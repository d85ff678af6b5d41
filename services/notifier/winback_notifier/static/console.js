// winback agent console: the live board of recovery cases over one websocket.
//
// The wiring, and the one place that does things: every message (from the server, the
// agent's clicks, the case API) goes through the pure board reducer (board-state.js); this
// module performs the effects it answers and draws the board from the state it keeps.
//
// board-state.js  what the board holds and what each message does (pure)
// profile.js      the agent, what its hello allows and shows (pure)
// format.js       how cards read (pure)
// board-view.js   the list, counts and title      case-panel.js / case-actions.js  one case
// case-story.js / story.js  the customer's story so far, the board's repeat marks
// board-prefs.js  comfortable or compact cards, remembered in this browser
// alerts.js       pop-ups, sound, desktop notes   connection.js  the websocket
// session.js      the token in this tab           api.js         the case API client
// call-*.js       reaching the customer: outcomes, local time, words, keys
// dom.js          the one way elements get text

import { createAlerts } from "./alerts.js";
import { api } from "./api.js";
import { createBoardView, refreshTimes } from "./board-view.js";
import { readDensity, saveDensity, toggledDensity } from "./board-prefs.js";
import { boardRows, initialState, reduce } from "./board-state.js";
import { createCasePanel } from "./case-panel.js";
import { createRepeatMarks } from "./case-story.js";
import { createConnection } from "./connection.js";
import { pendingNews } from "./offer-rules.js";
import { installKeys } from "./call-keys.js";
import { refreshCallTimes } from "./call-time.js";
import { boardActions, describeAgent, mayReadOps } from "./profile.js";
import {
  forgetToken, keepToken, linkCarriesToken, storedToken, takeCaseFromUrl, takeTokenFromUrl,
} from "./session.js";

const el = {
  status: document.getElementById("status"),
  statusText: document.getElementById("status-text"),
  agent: document.getElementById("agent"),
  summary: document.getElementById("summary"),
  signin: document.getElementById("signin"),
  signinForm: document.getElementById("signin-form"),
  signinError: document.getElementById("signin-error"),
  tokenInput: document.getElementById("token-input"),
  board: document.getElementById("board"),
  cases: document.getElementById("cases"),
  empty: document.getElementById("empty"),
  detail: document.getElementById("detail"),
  filters: document.getElementById("filters"),
  density: document.getElementById("density-toggle"),
  toasts: document.getElementById("toasts"),
  markSeen: document.getElementById("mark-seen"),
  soundToggle: document.getElementById("sound-toggle"),
  soundAllow: document.getElementById("sound-allow"),
  notifyToggle: document.getElementById("notify-toggle"),
  signOut: document.getElementById("sign-out"),
  opsLink: document.getElementById("ops-link"),
};

let state = initialState();
let filter = "all";
let caseToOpen = null; // from a `#case=ID` link: opened once the board has loaded

function dispatch(message) {
  const { state: next, effects } = reduce(state, message);
  state = next;
  for (const effect of effects) perform(effect);
  board.render(state, filter);
  repeats.decorate(el.cases);
}

function perform(effect) {
  switch (effect.type) {
    case "toast":
      alerts.showToast(effect.card, effect.reason, effect.detail);
      break;
    case "sound":
      alerts.beep();
      break;
    case "desktop":
      alerts.notifyDesktop(effect.card);
      break;
    case "dismiss_toasts":
      alerts.dismissFor(effect.caseId);
      break;
    case "live":
      connection.markLive();
      remindPendingOffers();
      if (caseToOpen !== null) {
        const caseId = caseToOpen;
        caseToOpen = null;
        setTimeout(() => openCase(caseId, { flash: true }), 0); // after this board is drawn
      }
      break;
    case "panel.open":
      panel.open(effect.card);
      break;
    case "panel.update":
      panel.update(effect.card);
      break;
    case "panel.show":
      panel.show(effect.card);
      break;
    case "panel.close":
      panel.close();
      break;
    case "profile":
      el.agent.textContent = describeAgent(effect.profile);
      el.opsLink.hidden = !mayReadOps(effect.profile);
      el.agent.title = el.agent.textContent; // the bar may cut a long name short
      panel.setProfile(effect.profile);
      break;
    case "panel.resync":
      panel.refresh();
      break;
    default:
      console.warn("winback: unknown effect ignored", effect);
  }
}

// A supervisor who connects is shown the offer requests still waiting (see offer-rules.js).
async function remindPendingOffers() {
  if (!state.profile || !state.profile.may_reassign) return;
  try {
    const pending = await api("GET", "/api/offers/pending");
    for (const news of pendingNews(pending, state.cases, state.profile)) {
      alerts.showToast(news.card, news.reason, news.detail);
    }
  } catch (error) {
    console.warn("winback: pending offers not read", error);
  }
}

function openCase(caseId, options) {
  dispatch({ type: "ui.open", caseId });
  if (options && options.flash) board.flash(caseId);
}

const board = createBoardView({
  list: el.cases,
  empty: el.empty,
  summary: el.summary,
  markSeen: el.markSeen,
  onOpen: (caseId) => openCase(caseId),
  onSeen: (caseId) => dispatch({ type: "ui.seen", caseId }),
  onClaim: async (caseId) => {
    const card = await api("POST", `/api/cases/${caseId}/claim`, {});
    dispatch({ type: "api.acted", card });
  },
});
const panel = createCasePanel({ root: el.detail, dispatch });
const repeats = createRepeatMarks();
const alerts = createAlerts({
  toasts: el.toasts,
  soundToggle: el.soundToggle,
  soundAllow: el.soundAllow,
  notifyToggle: el.notifyToggle,
  onOpen: openCase,
});
const connection = createConnection({
  onMessage: dispatch,
  onStatus: setStatus,
  onRejected: (revoked) => {
    forgetToken();
    showSignIn(revoked
      ? "Signed out: your account was disabled or your token replaced. Ask an admin."
      : "Token rejected. Check it and try again.");
  },
  reconnect: connect,
});

// ---- signing in and out ----------------------------------------------------------------------

function setStatus(stateName, text) {
  el.status.dataset.state = stateName;
  el.statusText.textContent = text;
}

function showSignIn(error) {
  connection.disconnect();
  el.board.hidden = true;
  el.signOut.hidden = true;
  el.agent.textContent = "";
  el.opsLink.hidden = true;
  el.signin.hidden = false;
  el.signinError.hidden = !error;
  el.signinError.textContent = error || "";
  connection.signedOut();
  el.tokenInput.value = "";
  el.tokenInput.focus();
}

function showBoard() {
  el.signin.hidden = true;
  el.signinError.hidden = true;
  el.board.hidden = false;
  el.signOut.hidden = false;
}

function connect() {
  const token = storedToken();
  if (!token) {
    showSignIn();
    return;
  }
  showBoard();
  connection.connect(token, state.cursor);
}

el.signinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = el.tokenInput.value.trim();
  if (!token) return;
  keepToken(token);
  el.tokenInput.value = "";
  connection.resetBackoff();
  connect();
});
el.signOut.addEventListener("click", () => {
  forgetToken();
  dispatch({ type: "ui.sign_out" });
  showSignIn();
});
el.markSeen.addEventListener("click", () => dispatch({ type: "ui.all_seen" }));
for (const node of el.filters.querySelectorAll("button[data-filter]")) {
  node.addEventListener("click", () => {
    filter = node.dataset.filter;
    for (const other of el.filters.querySelectorAll("button[data-filter]")) {
      other.setAttribute("aria-pressed", String(other === node));
    }
    board.render(state, filter);
  });
}
function showDensity(density) {
  el.board.dataset.density = density;
  el.density.setAttribute("aria-pressed", String(density === "compact"));
}
function toggleDensity() {
  const density = toggledDensity(el.board.dataset.density);
  saveDensity(localStorage, density);
  showDensity(density);
}
el.density.addEventListener("click", toggleDensity);
installKeys({
  board: () => boardRows(state, "all"),
  shown: () => state.shown,
  claimable: (card) => boardActions(card, state.profile).includes("claimed"),
  openCase: (caseId) => openCase(caseId, { flash: true }),
  toggleDensity,
  closeCase: () => dispatch({ type: "ui.close" }),
  detail: el.detail,
  hintParent: el.board.querySelector(".board-head"),
});
showDensity(readDensity(localStorage));
window.addEventListener("online", () => {
  if (connection.waitingToReconnect()) {
    connection.resetBackoff();
    connect();
  }
});
window.addEventListener("hashchange", () => {
  const caseId = takeCaseFromUrl();
  if (caseId !== null) openCase(caseId, { flash: true });
  if (!linkCarriesToken()) return;
  takeTokenFromUrl();
  connection.disconnect();
  connection.resetBackoff();
  connect();
});

takeTokenFromUrl();
caseToOpen = takeCaseFromUrl();
setInterval(refreshTimes, 1000);
setInterval(refreshCallTimes, 30_000);
connect();
