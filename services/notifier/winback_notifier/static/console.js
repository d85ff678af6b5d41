// winback agent console: the live board of recovery cases over one websocket.
//
// The server sends `hello` (who you are, your queues, the policy), a `snapshot` of the board,
// then live messages: `case.opened` / `case.updated` from the router and `case.changed` from
// the case API (and from the re-coding tool, through the notifier's outbox, and from the SLA
// timers: `sla_warning`, `sla_breached`, `claim_lapsed`). When an admin changes the agent
// (queues, role), a new `hello` and `snapshot` arrive on the same connection and replace what
// the console knew; a disabled agent (or a replaced token) is closed with 4401.
// Every card carries the case's `seq`; anything not newer than what is shown is dropped, so
// overlaps between snapshot and live stream, repeats and reconnects are harmless.
// Everything a customer wrote is untrusted: it is only ever set with textContent.
"use strict";

(() => {
  const w = window.winback;
  const { make } = w;
  const SOUND_KEY = "winback.sound";
  const TITLE = "winback console";
  const CLOSE_UNAUTHORIZED = 4401;
  const REVOKED_PREFIX = "access revoked";
  const BACKOFF_START_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const PING_MS = 25000;
  const TOAST_MS = 15000;
  const MAX_TOASTS = 5;
  const TOAST_COMMENT_CHARS = 240;
  const BOARD_STATUSES = new Set(["open", "claimed", "contacted", "unreachable", "reopened",
    "resolved"]);
  // Changes that are no news for an agent: the board and the open case show them, but they never
  // pop up, beep or notify, even for a case this console did not know (say, past its snapshot).
  // A re-coding after a taxonomy change only says why the customer was unhappy in other words.
  const QUIET_KINDS = new Set(["recoded"]);

  const el = {
    status: document.getElementById("status"),
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
    toasts: document.getElementById("toasts"),
    markSeen: document.getElementById("mark-seen"),
    soundToggle: document.getElementById("sound-toggle"),
    notifyToggle: document.getElementById("notify-toggle"),
    signOut: document.getElementById("sign-out"),
  };

  const cases = new Map(); // case_id -> card
  const rows = new Map(); // case_id -> {seq, node}
  const unseen = new Set(); // case_ids that arrived live for my queues, not yet acknowledged
  let profile = null;
  let filter = "all";
  let socket = null;
  let reconnectTimer = null;
  let pingTimer = null;
  let backoffMs = BACKOFF_START_MS;
  let audio = null;
  let notLoaded = 0; // cases the snapshot left out (past the notifier's board limit)

  // ---- token ---------------------------------------------------------------------------------

  function takeTokenFromUrl() {
    // Parsed by hand: URLSearchParams would turn a "+" in a token into a space.
    const parts = window.location.hash.replace(/^#/, "").split("&").filter(Boolean);
    const found = parts.find((part) => part.startsWith("token="));
    if (found === undefined) return;
    let token = found.slice("token=".length);
    try {
      token = decodeURIComponent(token);
    } catch (error) {
      // not percent-encoded: use it as it is
    }
    if (token) sessionStorage.setItem(w.TOKEN_KEY, token);
    const rest = parts.filter((part) => part !== found).join("&");
    const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
    history.replaceState(history.state, "", url);
  }

  function showSignIn(error) {
    disconnect();
    el.board.hidden = true;
    el.signOut.hidden = true;
    el.agent.textContent = "";
    el.signin.hidden = false;
    el.signinError.hidden = !error;
    el.signinError.textContent = error || "";
    setStatus("offline", "signed out");
    el.tokenInput.value = "";
    el.tokenInput.focus();
  }

  function showBoard() {
    el.signin.hidden = true;
    el.signinError.hidden = true;
    el.board.hidden = false;
    el.signOut.hidden = false;
  }

  // ---- connection ----------------------------------------------------------------------------

  function setStatus(state, text) {
    el.status.dataset.state = state;
    el.status.textContent = text;
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}/ws`;
  }

  function connect() {
    const token = w.storedToken();
    if (!token) {
      showSignIn();
      return;
    }
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    showBoard();
    if (el.status.dataset.state !== "reconnecting") setStatus("connecting", "connecting");

    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "auth", token }));
      clearInterval(pingTimer);
      // A ping now and then makes a dead connection (laptop asleep, proxy gone) close.
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      }, PING_MS);
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn("winback: unreadable message ignored", error);
        return;
      }
      handleMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      if (event.code === CLOSE_UNAUTHORIZED) {
        sessionStorage.removeItem(w.TOKEN_KEY);
        showSignIn(String(event.reason || "").startsWith(REVOKED_PREFIX)
          ? "Signed out: your account was disabled or your token replaced. Ask an admin."
          : "Token rejected. Check it and try again.");
        return;
      }
      scheduleReconnect();
    });
    // An error is always followed by a close event, which does the reconnecting.
  }

  function scheduleReconnect() {
    setStatus("reconnecting", "reconnecting");
    clearTimeout(reconnectTimer);
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    reconnectTimer = setTimeout(connect, delay);
  }

  function disconnect() {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    reconnectTimer = null;
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000, "signed out");
    }
  }

  function handleMessage(message) {
    switch (message && message.type) {
      case "hello": {
        // Also mid-connection, when an admin changed the agent: a case of a queue it lost
        // leaves the screen (the snapshot that follows redraws the board).
        profile = normaliseProfile(message.agent);
        el.agent.textContent = describeAgent(profile);
        const shown = w.detail.shownCase();
        if (shown && !profile.sees_all_queues && !profile.queues.includes(shown.queue)) {
          w.detail.close();
        }
        w.detail.setProfile(profile);
        break;
      }
      case "snapshot":
        applySnapshot(
          Array.isArray(message.cases) ? message.cases : [],
          Number.isInteger(message.total) ? message.total : 0,
        );
        backoffMs = BACKOFF_START_MS;
        setStatus("live", "live");
        break;
      case "case.opened":
      case "case.updated":
        if (message.case) applyLive(message.case);
        break;
      case "case.changed":
        // A repeat (the outbox may send a change twice) is dropped, and announced no more.
        if (message.case && applyLive(message.case, { quiet: isQuiet(message.change) })) {
          announceTimer(message.case, message.change);
        }
        break;
      default:
        break; // pongs, and kinds newer servers may send: ignoring them is safe
    }
  }

  function normaliseProfile(agent) {
    const value = agent || {};
    return {
      name: value.name || "",
      role: value.role || "",
      queues: Array.isArray(value.queues) ? value.queues : [],
      sees_all_queues: Boolean(value.sees_all_queues),
      may_reassign: Boolean(value.may_reassign),
      policy: value.policy || {
        unreachable_after_attempts: 3, contact_target_minutes: {}, channels: ["phone", "email"],
        two_way_channels: ["phone"],
      },
      root_causes: Array.isArray(value.root_causes) ? value.root_causes : [],
    };
  }

  function describeAgent(agent) {
    if (!agent || !agent.name) return "";
    return agent.role ? `${agent.name} · ${agent.role}` : String(agent.name);
  }

  // ---- state ---------------------------------------------------------------------------------

  function isMine(card) {
    return Boolean(profile) && profile.queues.includes(card.queue);
  }

  function visible(card) {
    return BOARD_STATUSES.has(card.status)
      && (!profile || profile.sees_all_queues || profile.queues.includes(card.queue));
  }

  function applySnapshot(list, total) {
    notLoaded = Math.max(0, total - list.length);
    cases.clear();
    for (const card of list) {
      if (isValidCase(card) && visible(card)) cases.set(card.case_id, card);
    }
    for (const caseId of [...unseen]) {
      if (!cases.has(caseId)) unseen.delete(caseId);
    }
    render();
    const shown = w.detail.shownCaseId();
    if (shown !== null) {
      const card = cases.get(shown);
      if (card) w.detail.update(card);
      w.detail.refresh(); // what changed while we were away, history included
    }
  }

  function isQuiet(change) {
    return Boolean(change) && QUIET_KINDS.has(change.kind);
  }

  // A newer card for a case. `quiet`: update what is shown, but never as news. Answers whether
  // it was newer than what is shown.
  function applyLive(incoming, options) {
    const quiet = Boolean(options && options.quiet);
    if (!isValidCase(incoming)) return false;
    const known = cases.get(incoming.case_id);
    if (known && incoming.seq <= known.seq) return false; // already shown (snapshot and live overlap)
    // The router's alerts lack the workflow fields; keep what we know of those.
    const card = known ? { ...known, ...incoming } : incoming;
    w.detail.update(card);
    if (!visible(card)) {
      cases.delete(card.case_id);
      unseen.delete(card.case_id);
      render();
      return true;
    }
    cases.set(card.case_id, card);
    if (!known && !quiet && !card.owner && isMine(card)) {
      unseen.add(card.case_id);
      showToast(card);
      beep();
      notifyDesktop(card);
    }
    render();
    return true;
  }

  // What the SLA timers did that someone must act on: supervisors hear of every breach they
  // can see; the agents of a queue hear of a claim that lapsed back to it.
  function announceTimer(incoming, change) {
    if (!change || !isValidCase(incoming)) return;
    const card = cases.get(incoming.case_id) || incoming;
    if (change.kind === "sla_breached" && profile && profile.may_reassign) {
      showToast(card, { title: "SLA breached", kind: "sla-breached" });
      beep();
    } else if (change.kind === "claim_lapsed" && isMine(card) && cases.has(card.case_id)) {
      unseen.add(card.case_id);
      render();
      showToast(card, { title: "Claim lapsed: back in the queue", kind: "claim-lapsed" });
    }
  }

  function isValidCase(card) {
    return card && Number.isInteger(card.case_id) && Number.isInteger(card.seq);
  }

  function markSeen(caseId) {
    if (!unseen.delete(caseId)) return;
    const row = rows.get(caseId);
    if (row) row.node.classList.remove("is-new");
    updateCounts();
  }

  function markAllSeen() {
    unseen.clear();
    for (const row of rows.values()) row.node.classList.remove("is-new");
    updateCounts();
  }

  function openCase(caseId) {
    markSeen(caseId);
    // The case is in front of the agent now; its pop-up has done its job.
    for (const toast of el.toasts.querySelectorAll(".toast")) {
      if (toast.dataset.caseId === String(caseId)) toast.remove();
    }
    const card = cases.get(caseId);
    if (!card) return;
    for (const row of rows.values()) row.node.classList.remove("selected");
    const row = rows.get(caseId);
    if (row) row.node.classList.add("selected");
    w.detail.open(card);
  }

  // ---- rendering -----------------------------------------------------------------------------

  // Cases that still need the customer contacted come first; among those, the most urgent,
  // then the least time left. Resolved cases, only waiting to be closed, go last.
  function sortKey(card) {
    const due = w.dueAt(card, profile && profile.policy);
    const fallback = Date.parse(card.opened_at) || 0;
    return [card.status === "resolved" ? 1 : 0, card.priority, due === null ? fallback : due,
      fallback, card.case_id];
  }

  function byUrgency(a, b) {
    const left = sortKey(a);
    const right = sortKey(b);
    for (let index = 0; index < left.length; index += 1) {
      if (left[index] !== right[index]) return left[index] - right[index];
    }
    return 0;
  }

  function passesFilter(card) {
    if (filter === "unclaimed") return !card.owner;
    if (filter === "mine") return Boolean(profile) && card.owner === profile.name;
    return true;
  }

  function render() {
    const ordered = [...cases.values()].filter(passesFilter).sort(byUrgency);
    const shown = new Set(ordered.map((card) => card.case_id));
    for (const [caseId, row] of rows) {
      if (!shown.has(caseId)) {
        row.node.remove();
        rows.delete(caseId);
      }
    }
    const selected = w.detail.shownCaseId();
    ordered.forEach((card, index) => {
      let row = rows.get(card.case_id);
      if (!row || row.seq !== card.seq) {
        const node = buildCase(card);
        if (row) row.node.replaceWith(node);
        row = { seq: card.seq, node };
        rows.set(card.case_id, row);
      }
      row.node.classList.toggle("is-new", unseen.has(card.case_id));
      row.node.classList.toggle("selected", selected === card.case_id);
      if (el.cases.children[index] !== row.node) {
        el.cases.insertBefore(row.node, el.cases.children[index] || null);
      }
    });
    el.empty.hidden = ordered.length > 0;
    updateCounts();
  }

  function updateCounts() {
    const all = [...cases.values()];
    const waiting = all.filter((c) => !c.owner && c.status !== "resolved").length;
    const urgent = all.filter((c) => c.priority === 1 && c.status !== "resolved").length;
    el.summary.replaceChildren();
    if (all.length > 0) {
      el.summary.append(make("span", "summary-count", `${all.length} on the board`));
      if (waiting > 0) el.summary.append(make("span", "summary-waiting", `${waiting} unclaimed`));
      if (urgent > 0) el.summary.append(make("span", "summary-urgent", `${urgent} urgent (P1)`));
    }
    if (unseen.size > 0) {
      el.summary.append(make("span", "summary-new", `${unseen.size} new`));
    }
    if (notLoaded > 0) {
      // Said plainly: a board that silently drops cases is worse than a long one.
      el.summary.append(make("span", "summary-more", `${notLoaded} less urgent not loaded`));
    }
    el.markSeen.hidden = unseen.size === 0;
    document.title = unseen.size > 0 ? `(${unseen.size}) ${TITLE}` : TITLE;
  }

  function timeLeftElement(card) {
    const due = w.dueAt(card, profile && profile.policy);
    if (due === null || !["open", "reopened", "claimed"].includes(card.status)) return null;
    const left = w.describeTimeLeft(due);
    const node = make("span", `time-left${left.overdue ? " overdue" : ""}`, left.text);
    node.dataset.due = String(due);
    return node;
  }

  function refreshTimes() {
    for (const node of document.querySelectorAll("time.ago")) {
      node.textContent = w.ago(node.dateTime);
    }
    for (const node of document.querySelectorAll(".time-left[data-due]")) {
      const left = w.describeTimeLeft(Number(node.dataset.due));
      node.textContent = left.text;
      node.classList.toggle("overdue", left.overdue);
    }
  }

  function buildCase(card) {
    const item = make("li", `case ${w.priorityClass(card.priority)} s-${card.status}`);
    item.dataset.caseId = String(card.case_id);
    item.dataset.seq = String(card.seq);
    item.dataset.priority = String(card.priority);
    item.dataset.status = card.status;
    item.tabIndex = 0;

    const head = make("div", "case-head");
    head.append(make("span", "priority", `P${card.priority}`));
    head.append(make("span", "customer", w.customerName(card)));
    const score = w.worstScore(card.scores);
    if (score) head.append(make("span", "score", w.describeScore(score)));
    if (card.follow_up_requested) head.append(make("span", "flag", "Asked for a call back"));
    head.append(make("span", "new-badge", "New"));
    const right = make("span", "case-when");
    right.append(w.timeElement(card.opened_at, "Opened"));
    right.append(make("span", "case-id", `#${card.case_id}`));
    head.append(right);
    item.append(head);

    const state = make("div", "case-state");
    state.append(make("span", `status-badge s-${card.status}`, w.humanise(card.status)));
    state.append(make("span", "owner", card.owner ? `owned by ${card.owner}` : "unowned"));
    const left = timeLeftElement(card);
    if (left) state.append(left);
    const sla = w.slaBadge(card);
    if (sla) state.append(sla);
    if (card.failed_attempts > 0) {
      state.append(make("span", "attempts-count", `${card.failed_attempts} failed attempt(s)`));
    }
    item.append(state);

    const reasons = card.reasons || [];
    if (reasons.length > 0) {
      const list = make("ul", "reasons");
      list.setAttribute("aria-label", "Reasons");
      for (const reason of reasons) {
        const chip = make("li", "reason", reason.label || reason.code);
        if (reason.evidence) chip.title = `Customer said: ${reason.evidence}`;
        list.append(chip);
      }
      item.append(list);
    }

    if (card.comment) {
      const comment = make("blockquote", "comment", card.comment);
      comment.title = "Open the case to read the whole comment";
      item.append(comment);
    }

    const meta = make("div", "meta");
    const customer = card.customer || {};
    const interaction = card.interaction || {};
    const facts = [
      customer.phone,
      interaction.channel && `via ${interaction.channel}`,
      interaction.team && `team ${interaction.team}`,
      card.queue && card.queue !== "default" && `queue ${card.queue}`,
    ].filter(Boolean);
    for (const fact of facts) meta.append(make("span", "fact", fact));
    if (facts.length > 0) item.append(meta);

    item.addEventListener("click", () => openCase(card.case_id));
    item.addEventListener("keydown", (event) => {
      if (event.key === "Enter") openCase(card.case_id);
    });
    item.addEventListener("focus", () => markSeen(card.case_id));
    return item;
  }

  // ---- alerts --------------------------------------------------------------------------------

  // `options.title` / `options.kind`: a pop-up about something else than a new case (a breach).
  function showToast(card, options) {
    const kind = options && options.kind ? ` toast-${options.kind}` : "";
    const toast = make("div", `toast ${w.priorityClass(card.priority)}${kind}`);
    toast.setAttribute("role", "alert");
    toast.dataset.caseId = String(card.case_id);

    const head = make("div", "toast-head");
    head.append(make("span", "priority", `P${card.priority}`));
    const title = options && options.title ? options.title
      : card.status === "reopened" ? "Reopened case" : "New recovery case";
    head.append(make("span", "toast-title", title));
    const close = make("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    head.append(close);
    toast.append(head);

    const who = make("div", "toast-customer", w.customerName(card));
    const score = w.worstScore(card.scores);
    if (score) who.append(make("span", "score", w.describeScore(score)));
    toast.append(who);
    const reasons = (card.reasons || []).map((r) => r.label || r.code).filter(Boolean);
    if (reasons.length > 0) toast.append(make("div", "toast-reasons", reasons.join(" · ")));
    if (card.comment) {
      const text = card.comment.length > TOAST_COMMENT_CHARS
        ? card.comment.slice(0, TOAST_COMMENT_CHARS - 1) + "…"
        : card.comment;
      toast.append(make("div", "toast-comment", text));
    }

    let timer = null;
    const dismiss = () => {
      clearTimeout(timer);
      toast.classList.add("leaving");
      setTimeout(() => toast.remove(), 200);
    };
    close.addEventListener("click", (event) => {
      event.stopPropagation();
      dismiss();
    });
    toast.addEventListener("click", () => {
      dismiss();
      openCase(card.case_id);
      const row = rows.get(card.case_id);
      if (row) {
        row.node.scrollIntoView({ block: "center", behavior: "smooth" });
        row.node.classList.add("flash");
        setTimeout(() => row.node.classList.remove("flash"), 1500);
      }
    });
    timer = setTimeout(dismiss, TOAST_MS);

    el.toasts.prepend(toast);
    while (el.toasts.children.length > MAX_TOASTS) el.toasts.lastElementChild.remove();
  }

  function soundEnabled() {
    return localStorage.getItem(SOUND_KEY) !== "off";
  }

  function renderSoundToggle() {
    const on = soundEnabled();
    el.soundToggle.textContent = on ? "Sound on" : "Sound off";
    el.soundToggle.setAttribute("aria-pressed", String(on));
  }

  function beep() {
    if (!soundEnabled()) return;
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      if (audio.state === "suspended") audio.resume().catch(() => {});
      const now = audio.currentTime;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.setValueAtTime(880, now);
      oscillator.frequency.setValueAtTime(660, now + 0.12);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.15, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(now);
      oscillator.stop(now + 0.32);
    } catch (error) {
      // Sound is a nicety: browsers may refuse audio before the first click.
    }
  }

  // Desktop notifications only when permitted and the console is not in front; the text is
  // plain (the Notification API never renders HTML).
  function notifyDesktop(card) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return;
    try {
      const reasons = (card.reasons || []).map((r) => r.label || r.code).join(" · ");
      const note = new Notification(`P${card.priority} ${w.customerName(card)}`, {
        body: reasons || "New recovery case",
        tag: `winback-case-${card.case_id}`,
      });
      note.addEventListener("click", () => {
        window.focus();
        openCase(card.case_id);
        note.close();
      });
    } catch (error) {
      // Some browsers only allow notifications from a service worker.
    }
  }

  function renderNotifyToggle() {
    const supported = "Notification" in window;
    el.notifyToggle.hidden = !supported || Notification.permission !== "default";
  }

  // ---- wiring --------------------------------------------------------------------------------

  w.detail.init({ root: el.detail, onCard: applyLive });

  el.signinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = el.tokenInput.value.trim();
    if (!token) return;
    sessionStorage.setItem(w.TOKEN_KEY, token);
    el.tokenInput.value = "";
    backoffMs = BACKOFF_START_MS;
    connect();
  });
  el.signOut.addEventListener("click", () => {
    sessionStorage.removeItem(w.TOKEN_KEY);
    cases.clear();
    unseen.clear();
    w.detail.close();
    render();
    showSignIn();
  });
  el.markSeen.addEventListener("click", markAllSeen);
  el.soundToggle.addEventListener("click", () => {
    localStorage.setItem(SOUND_KEY, soundEnabled() ? "off" : "on");
    renderSoundToggle();
  });
  el.notifyToggle.addEventListener("click", () => {
    Notification.requestPermission().then(renderNotifyToggle, renderNotifyToggle);
  });
  for (const node of el.filters.querySelectorAll("button[data-filter]")) {
    node.addEventListener("click", () => {
      filter = node.dataset.filter;
      for (const other of el.filters.querySelectorAll("button[data-filter]")) {
        other.setAttribute("aria-pressed", String(other === node));
      }
      render();
    });
  }
  window.addEventListener("online", () => {
    if (reconnectTimer !== null) {
      backoffMs = BACKOFF_START_MS;
      connect();
    }
  });
  window.addEventListener("hashchange", () => {
    if (!/(^#|&)token=/.test(window.location.hash)) return;
    takeTokenFromUrl();
    disconnect();
    backoffMs = BACKOFF_START_MS;
    connect();
  });

  renderSoundToggle();
  renderNotifyToggle();
  takeTokenFromUrl();
  setInterval(refreshTimes, 1000);
  connect();
})();
