// winback console: helpers shared by the board (console.js) and the case panel (detail.js).
//
// Everything a customer or an agent wrote is untrusted: it is only ever set with textContent or
// attributes, never parsed as HTML. `make` is the one way elements get text.
"use strict";

(() => {
  const TOKEN_KEY = "winback.token";

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(text, className, onClick) {
    const node = make("button", className || "", text);
    node.type = "button";
    if (onClick) node.addEventListener("click", onClick);
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

  function customerName(card) {
    const customer = card.customer || {};
    return customer.name || customer.email || customer.id || "Unknown customer";
  }

  function humanise(word) {
    return String(word || "").replace(/_/g, " ");
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

  function timeElement(timestamp, label) {
    const node = make("time", "ago", ago(timestamp));
    node.dateTime = timestamp;
    const date = new Date(timestamp);
    if (!Number.isNaN(date.getTime())) node.title = `${label || "At"} ${date.toLocaleString()}`;
    return node;
  }

  function clock(timestamp) {
    const date = new Date(timestamp);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // The contact deadline: when someone must have tried to reach the customer. It is stored on
  // the case when it opens (and is what the SLA timers fire at); the first attempt stops the
  // clock. A card from an older server without it falls back to opening time + target.
  function dueAt(card, policy) {
    if (card.first_attempt_at || card.first_contact_at) return null;
    const stored = card.contact_due_at ? Date.parse(card.contact_due_at) : NaN;
    if (!Number.isNaN(stored)) return stored;
    const minutes = policy && policy.contact_target_minutes
      ? policy.contact_target_minutes[String(card.priority)]
      : null;
    const opened = Date.parse(card.opened_at);
    if (!minutes || Number.isNaN(opened)) return null;
    return opened + minutes * 60000;
  }

  // Where the case stands against its deadline, as the SLA timers recorded it: a breach stays
  // on the card as a fact; a warning only while nobody has tried yet.
  function slaBadge(card) {
    if (["resolved", "closed"].includes(card.status)) return null;
    if (card.sla_breached_at) {
      const node = make("span", "sla-badge sla-breached", "SLA breached");
      node.title = `Deadline passed without a contact attempt (${clock(card.sla_breached_at)})`;
      return node;
    }
    if (card.sla_warned_at && !card.first_attempt_at) {
      const node = make("span", "sla-badge sla-warning", "SLA warning");
      node.title = "The contact deadline is near and nobody has tried yet";
      return node;
    }
    return null;
  }

  function describeTimeLeft(due) {
    const seconds = Math.round((due - Date.now()) / 1000);
    const span = Math.abs(seconds);
    const text = span < 60 ? `${span} s` : span < 3600 ? `${Math.floor(span / 60)} min`
      : `${Math.floor(span / 3600)} h ${Math.floor((span % 3600) / 60)} min`;
    return seconds >= 0 ? { text: `contact within ${text}`, overdue: false }
      : { text: `contact overdue by ${text}`, overdue: true };
  }

  function storedToken() {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // Every action goes through the documented JSON API, exactly as a CRM or dialer would.
  async function api(method, path, body) {
    const headers = { Authorization: `Bearer ${storedToken()}` };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let payload = null;
    try {
      payload = await response.json();
    } catch (error) {
      payload = null;
    }
    if (!response.ok) {
      const error = (payload && payload.error) || {};
      throw new ApiError(response.status, error.code || "http_error",
        error.message || `request failed (${response.status})`);
    }
    return payload;
  }

  window.winback = {
    TOKEN_KEY,
    make,
    button,
    priorityClass,
    worstScore,
    describeScore,
    customerName,
    humanise,
    ago,
    timeElement,
    clock,
    dueAt,
    slaBadge,
    describeTimeLeft,
    storedToken,
    api,
    ApiError,
  };
})();
