// winback agent console: a live list of open recovery cases over one websocket.
//
// Everything a customer wrote (names, comments, reasons) is untrusted: it is only ever set with
// textContent or attributes, never parsed as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "winback.token";
  const SOUND_KEY = "winback.sound";
  const TITLE = "winback console";
  const CLOSE_UNAUTHORIZED = 4401;
  const BACKOFF_START_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const TOAST_MS = 15000;
  const MAX_TOASTS = 5;
  const TOAST_COMMENT_CHARS = 240;
  const OPEN_STATUSES = new Set(["open", "claimed", "contacted", "unreachable", "reopened"]);

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
    toasts: document.getElementById("toasts"),
    markSeen: document.getElementById("mark-seen"),
    soundToggle: document.getElementById("sound-toggle"),
    signOut: document.getElementById("sign-out"),
  };

  const cases = new Map(); // case_id -> CaseSummary
  const rows = new Map(); // case_id -> {seq, node}
  const unseen = new Set(); // case_ids that arrived live and the agent has not acknowledged
  let socket = null;
  let reconnectTimer = null;
  let backoffMs = BACKOFF_START_MS;
  let audio = null;

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
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    const rest = parts.filter((part) => part !== found).join("&");
    const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
    history.replaceState(history.state, "", url);
  }

  function storedToken() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
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
    const token = storedToken();
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
      if (event.code === CLOSE_UNAUTHORIZED) {
        sessionStorage.removeItem(TOKEN_KEY);
        showSignIn("Token rejected. Check it and try again.");
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
    reconnectTimer = null;
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000, "signed out");
    }
  }

  function handleMessage(message) {
    switch (message && message.type) {
      case "hello":
        el.agent.textContent = describeAgent(message.agent);
        break;
      case "snapshot":
        applySnapshot(Array.isArray(message.cases) ? message.cases : []);
        backoffMs = BACKOFF_START_MS;
        setStatus("live", "live");
        break;
      case "case.opened":
        if (message.case) applyLive(message.case);
        break;
      default:
        break; // newer servers may send more kinds; ignoring them is safe
    }
  }

  function describeAgent(agent) {
    if (!agent || !agent.name) return "";
    return agent.role ? `${agent.name} · ${agent.role}` : String(agent.name);
  }

  // ---- state ---------------------------------------------------------------------------------

  function applySnapshot(list) {
    cases.clear();
    for (const summary of list) {
      if (isValidCase(summary) && OPEN_STATUSES.has(summary.status)) {
        cases.set(summary.case_id, summary);
      }
    }
    for (const caseId of [...unseen]) {
      if (!cases.has(caseId)) unseen.delete(caseId);
    }
    render();
  }

  function applyLive(summary) {
    if (!isValidCase(summary)) return;
    const known = cases.get(summary.case_id);
    if (known && summary.seq <= known.seq) return; // already shown (snapshot and live overlap)
    if (!OPEN_STATUSES.has(summary.status)) {
      cases.delete(summary.case_id);
      unseen.delete(summary.case_id);
      render();
      return;
    }
    cases.set(summary.case_id, summary);
    if (!known) {
      unseen.add(summary.case_id);
      showToast(summary);
      beep();
    }
    render();
  }

  function isValidCase(summary) {
    return summary && Number.isInteger(summary.case_id) && Number.isInteger(summary.seq);
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

  // ---- rendering -----------------------------------------------------------------------------

  function byUrgency(a, b) {
    return a.priority - b.priority || Date.parse(a.opened_at) - Date.parse(b.opened_at)
      || a.case_id - b.case_id;
  }

  function render() {
    const ordered = [...cases.values()].sort(byUrgency);
    for (const [caseId, row] of rows) {
      if (!cases.has(caseId)) {
        row.node.remove();
        rows.delete(caseId);
      }
    }
    ordered.forEach((summary, index) => {
      let row = rows.get(summary.case_id);
      if (!row || row.seq !== summary.seq) {
        const node = buildCase(summary);
        if (row) row.node.replaceWith(node);
        row = { seq: summary.seq, node };
        rows.set(summary.case_id, row);
      }
      row.node.classList.toggle("is-new", unseen.has(summary.case_id));
      if (el.cases.children[index] !== row.node) {
        el.cases.insertBefore(row.node, el.cases.children[index] || null);
      }
    });
    el.empty.hidden = ordered.length > 0;
    updateCounts();
  }

  function updateCounts() {
    const total = cases.size;
    const urgent = [...cases.values()].filter((c) => c.priority === 1).length;
    el.summary.replaceChildren();
    if (total > 0) {
      el.summary.append(make("span", "summary-count", `${total} open`));
      if (urgent > 0) el.summary.append(make("span", "summary-urgent", `${urgent} urgent (P1)`));
    }
    if (unseen.size > 0) {
      el.summary.append(make("span", "summary-new", `${unseen.size} new`));
    }
    el.markSeen.hidden = unseen.size === 0;
    document.title = unseen.size > 0 ? `(${unseen.size}) ${TITLE}` : TITLE;
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function priorityClass(priority) {
    return `p${Math.min(Math.max(Number(priority) || 4, 1), 4)}`;
  }

  function formatNumber(value) {
    const number = Number(value);
    return Number.isInteger(number) ? String(number) : number.toFixed(1);
  }

  function fraction(score) {
    const span = score.scale_max - score.scale_min;
    return span > 0 ? (score.value - score.scale_min) / span : 1;
  }

  function worstScore(scores) {
    const usable = (scores || []).filter((s) => s && typeof s.value === "number");
    if (usable.length === 0) return null;
    return usable.reduce((worst, s) => (fraction(s) < fraction(worst) ? s : worst));
  }

  function describeScore(score) {
    const kind = String(score.kind || "score").toUpperCase();
    return `${kind} ${formatNumber(score.value)}/${formatNumber(score.scale_max)}`;
  }

  function reasonLabels(summary) {
    return (summary.reasons || []).map((r) => r.label || r.code).filter(Boolean);
  }

  function customerName(summary) {
    const customer = summary.customer || {};
    return customer.name || customer.email || customer.id || "Unknown customer";
  }

  function ago(timestamp) {
    const then = Date.parse(timestamp);
    if (Number.isNaN(then)) return "";
    const seconds = Math.max(0, Math.round((Date.now() - then) / 1000));
    if (seconds < 45) return "just now";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min ago` : `${hours} h ago`;
    const days = Math.floor(hours / 24);
    return days === 1 ? "1 day ago" : `${days} days ago`;
  }

  function timeElement(timestamp) {
    const node = make("time", "ago", ago(timestamp));
    node.dateTime = timestamp;
    const date = new Date(timestamp);
    if (!Number.isNaN(date.getTime())) node.title = `Opened ${date.toLocaleString()}`;
    return node;
  }

  function refreshTimes() {
    for (const node of document.querySelectorAll("time.ago")) {
      node.textContent = ago(node.dateTime);
    }
  }

  function buildCase(summary) {
    const item = make("li", `case ${priorityClass(summary.priority)}`);
    item.dataset.caseId = String(summary.case_id);
    item.dataset.seq = String(summary.seq);
    item.dataset.priority = String(summary.priority);
    item.tabIndex = 0;

    const head = make("div", "case-head");
    head.append(make("span", "priority", `P${summary.priority}`));
    head.append(make("span", "customer", customerName(summary)));
    const score = worstScore(summary.scores);
    if (score) head.append(make("span", "score", describeScore(score)));
    if (summary.follow_up_requested) head.append(make("span", "flag", "Asked for a call back"));
    head.append(make("span", "new-badge", "New"));
    const right = make("span", "case-when");
    right.append(timeElement(summary.opened_at));
    right.append(make("span", "case-id", `#${summary.case_id}`));
    head.append(right);
    item.append(head);

    const labels = summary.reasons || [];
    if (labels.length > 0) {
      const list = make("ul", "reasons");
      list.setAttribute("aria-label", "Reasons");
      for (const reason of labels) {
        const chip = make("li", "reason", reason.label || reason.code);
        if (reason.evidence) chip.title = `Customer said: ${reason.evidence}`;
        list.append(chip);
      }
      item.append(list);
    }

    if (summary.comment) {
      const comment = make("blockquote", "comment", summary.comment);
      comment.title = "Click to show the whole comment";
      comment.addEventListener("click", () => comment.classList.toggle("expanded"));
      item.append(comment);
    }

    const meta = make("div", "meta");
    const customer = summary.customer || {};
    const interaction = summary.interaction || {};
    const facts = [
      customer.phone,
      customer.email,
      interaction.channel && `via ${interaction.channel}`,
      interaction.agent && `agent ${interaction.agent}`,
      interaction.team && `team ${interaction.team}`,
      summary.queue && summary.queue !== "default" && `queue ${summary.queue}`,
      summary.status && summary.status !== "open" && summary.status,
    ].filter(Boolean);
    for (const fact of facts) meta.append(make("span", "fact", fact));
    if (facts.length > 0) item.append(meta);

    const acknowledge = () => markSeen(summary.case_id);
    item.addEventListener("click", acknowledge);
    item.addEventListener("focus", acknowledge);
    return item;
  }

  // ---- alerts --------------------------------------------------------------------------------

  function showToast(summary) {
    const toast = make("div", `toast ${priorityClass(summary.priority)}`);
    toast.setAttribute("role", "alert");
    toast.dataset.caseId = String(summary.case_id);

    const head = make("div", "toast-head");
    head.append(make("span", "priority", `P${summary.priority}`));
    head.append(make("span", "toast-title", "New recovery case"));
    const close = make("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    head.append(close);
    toast.append(head);

    const who = make("div", "toast-customer", customerName(summary));
    const score = worstScore(summary.scores);
    if (score) who.append(make("span", "score", describeScore(score)));
    toast.append(who);
    const reasons = reasonLabels(summary);
    if (reasons.length > 0) toast.append(make("div", "toast-reasons", reasons.join(" · ")));
    if (summary.comment) {
      const text = summary.comment.length > TOAST_COMMENT_CHARS
        ? summary.comment.slice(0, TOAST_COMMENT_CHARS - 1) + "…"
        : summary.comment;
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
      markSeen(summary.case_id);
      const row = rows.get(summary.case_id);
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

  // ---- wiring --------------------------------------------------------------------------------

  el.signinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = el.tokenInput.value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    el.tokenInput.value = "";
    backoffMs = BACKOFF_START_MS;
    connect();
  });
  el.signOut.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    cases.clear();
    unseen.clear();
    render();
    showSignIn();
  });
  el.markSeen.addEventListener("click", markAllSeen);
  el.soundToggle.addEventListener("click", () => {
    localStorage.setItem(SOUND_KEY, soundEnabled() ? "off" : "on");
    renderSoundToggle();
  });
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
  takeTokenFromUrl();
  setInterval(refreshTimes, 20000);
  connect();
})();
