// winback console: the case panel. Shows one case in full (customer, interaction, scores,
// reasons with their evidence, the comment, attempts, history) with the actions its state
// allows and the guidance that fits that moment. Every action is a call to the case API; the
// result comes back as a live change like anybody else's, so all consoles stay alike.
"use strict";

(() => {
  const w = window.winback;
  const { make, button } = w;

  const GUIDANCE = {
    unowned: [
      "Own the follow-up: claim the case and call the customer yourself. Never ask them to call us.",
    ],
    claimed: [
      "Reach the customer two-way first: phone, video or in person. Email only once those fail.",
      "Introduce yourself as the person who will see this through.",
    ],
    contacted: [
      "Listen first: let the customer tell the whole story before you explain anything.",
      "Apologise sincerely for what they went through.",
      "Offer options (a credit, a fix, a call-back) and let the customer choose.",
    ],
    resolved: [
      "Follow up as promised: check that what was offered actually happened, then close.",
    ],
    unreachable: [
      "Leave one last message saying who you are and how to reach you directly, then close.",
    ],
  };

  const REACTIONS = [
    ["satisfied", "Satisfied"],
    ["neutral", "Neutral"],
    ["dissatisfied", "Still dissatisfied"],
  ];

  const KIND_LABELS = {
    opened: "Case opened",
    claimed: "Claimed",
    contact_attempted: "Contact attempt",
    marked_unreachable: "Marked unreachable",
    resolved: "Resolved",
    closed: "Closed",
    reopened: "Reopened",
    reassigned: "Reassigned",
    note_added: "Note",
    recoded: "Reasons re-coded",
    sla_warning: "SLA warning",
    sla_breached: "SLA breached",
    claim_lapsed: "Claim lapsed",
  };

  let root = null;
  let profile = null;
  let current = null; // the card shown
  let actionsKey = ""; // what the action forms were built for; rebuilt only when it changes
  let refreshTimer = null;
  let onCard = () => {};

  function init(options) {
    root = options.root;
    onCard = options.onCard;
  }

  function setProfile(value) {
    profile = value;
    actionsKey = "";
    if (current) render(current);
  }

  function shownCaseId() {
    return current ? current.case_id : null;
  }

  function shownCase() {
    return current;
  }

  function open(card) {
    if (!current || current.case_id !== card.case_id) actionsKey = "";
    current = card;
    root.hidden = false;
    render(card);
    refresh();
  }

  function close() {
    current = null;
    actionsKey = "";
    root.hidden = true;
    root.replaceChildren();
  }

  // A newer card for the shown case (a live change, or the answer to our own action).
  function update(card) {
    if (!current || card.case_id !== current.case_id) return;
    if (card.seq < current.seq) return;
    current = card;
    render(card);
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 50);
  }

  async function refresh() {
    if (!current) return;
    const caseId = current.case_id;
    try {
      const detail = await w.api("GET", `/api/cases/${caseId}`);
      if (!current || current.case_id !== caseId) return;
      if (detail.case.seq >= current.seq) {
        current = detail.case;
        render(current);
      }
      renderAttempts(detail.attempts);
      renderHistory(detail.history);
    } catch (error) {
      showError(error);
    }
  }

  function isOwner(card) {
    return profile && card.owner === profile.name;
  }

  function mayWork(card) {
    return isOwner(card) || (profile && profile.may_reassign);
  }

  // ---- rendering ---------------------------------------------------------------------------

  function section(id, title) {
    let node = root.querySelector(`#${id}`);
    if (!node) {
      node = make("section", `detail-section ${id}`);
      node.id = id;
      if (title) node.append(make("h3", "", title));
      root.append(node);
    }
    return node;
  }

  function render(card) {
    if (!root.querySelector("#detail-head")) buildSkeleton();
    renderHead(card);
    renderFacts(card);
    renderGuidance(card);
    const key = [card.case_id, card.status, card.owner, card.failed_attempts, profile && profile.name]
      .join("|");
    if (key !== actionsKey) {
      actionsKey = key;
      renderActions(card);
    }
  }

  function buildSkeleton() {
    root.replaceChildren();
    const head = make("header", "detail-head");
    head.id = "detail-head";
    root.append(head);
    const error = make("p", "detail-error");
    error.id = "detail-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    root.append(error);
    section("detail-facts");
    section("detail-guidance", "Guidance");
    section("detail-actions");
    section("detail-attempts", "Contact attempts");
    section("detail-history", "History");
  }

  function renderHead(card) {
    const head = root.querySelector("#detail-head");
    head.className = `detail-head ${w.priorityClass(card.priority)}`;
    head.replaceChildren();
    const top = make("div", "detail-top");
    top.append(make("span", "priority", `P${card.priority}`));
    top.append(make("h2", "detail-customer", w.customerName(card)));
    top.append(button("×", "detail-close", close));
    top.lastChild.setAttribute("aria-label", "Close case");
    head.append(top);
    const line = make("div", "detail-line");
    const status = make("span", `status-badge s-${card.status}`, w.humanise(card.status));
    status.id = "detail-status";
    line.append(status);
    const owner = make("span", "detail-owner", card.owner ? `owned by ${card.owner}` : "unowned");
    owner.id = "detail-owner";
    line.append(owner);
    line.append(make("span", "detail-queue", `queue ${card.queue}`));
    line.append(make("span", "case-id", `#${card.case_id}`));
    const sla = w.slaBadge(card);
    if (sla) line.append(sla);
    head.append(line);
    const due = w.dueAt(card, profile && profile.policy);
    if (due !== null && !["resolved", "closed", "unreachable"].includes(card.status)) {
      const left = w.describeTimeLeft(due);
      const timer = make("div", `time-left${left.overdue ? " overdue" : ""}`, left.text);
      timer.dataset.due = String(due);
      head.append(timer);
    }
  }

  function renderFacts(card) {
    const facts = section("detail-facts");
    facts.replaceChildren();
    const customer = card.customer || {};
    const interaction = card.interaction || {};
    const grid = make("dl", "facts");
    const add = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      grid.append(make("dt", "", label));
      grid.append(make("dd", "", value));
    };
    add("Phone", customer.phone);
    add("Email", customer.email);
    add("Segment", customer.segment);
    add("Channel", interaction.channel);
    add("Agent", interaction.agent);
    add("Team", interaction.team);
    add("Scores", (card.scores || []).map(w.describeScore).join(" · "));
    if (card.follow_up_requested) add("Asked", "for a call back");
    if (card.root_cause) add("Root cause", rootCauseLabel(card.root_cause));
    if (card.customer_reaction) add("Reaction", w.humanise(card.customer_reaction));
    facts.append(grid);

    const reasons = card.reasons || [];
    if (reasons.length > 0) {
      facts.append(make("h3", "", "Why the customer is unhappy"));
      const list = make("ul", "evidence-list");
      for (const reason of reasons) {
        const item = make("li", "evidence");
        const title = make("div", "evidence-title");
        title.append(make("span", "reason", reason.label || reason.code));
        const how = `${w.humanise(reason.method)} · ${Math.round((reason.confidence ?? 1) * 100)}%`;
        title.append(make("span", "evidence-method", how));
        item.append(title);
        if (reason.evidence) {
          const body = make("div", "evidence-body");
          const where = { comment: "in the comment", answer: "chosen answer" }[reason.evidence_source];
          if (where) body.append(make("span", "evidence-source", `${where}: `));
          body.append(make("q", "evidence-quote", reason.evidence));
          item.append(body);
        }
        list.append(item);
      }
      facts.append(list);
    }
    if (card.comment) {
      facts.append(make("h3", "", "What they wrote"));
      facts.append(make("blockquote", "detail-comment", card.comment));
    }
  }

  function renderGuidance(card) {
    const node = section("detail-guidance", "Guidance");
    const unowned = !card.owner && ["open", "reopened"].includes(card.status);
    const tips = GUIDANCE[unowned ? "unowned" : card.status] || [];
    node.hidden = tips.length === 0;
    const list = make("ul", "guidance");
    for (const tip of tips) list.append(make("li", "", tip));
    node.replaceChildren(make("h3", "", "Guidance"), list);
  }

  function rootCauseLabel(code) {
    const found = ((profile && profile.root_causes) || []).find((c) => c.code === code);
    return found ? found.label : code;
  }

  // ---- actions -----------------------------------------------------------------------------

  function renderActions(card) {
    const node = section("detail-actions");
    node.replaceChildren();
    const status = card.status;
    if (!card.owner && status !== "closed" && status !== "resolved") {
      node.append(button("Claim", "primary action-claim", () => act("claim")));
    }
    if (mayWork(card) && ["claimed", "contacted", "unreachable"].includes(status)) {
      node.append(attemptForm(card));
    }
    if (mayWork(card) && status === "claimed") {
      const needed = profile.policy.unreachable_after_attempts;
      const unreachable = button("Mark unreachable", "secondary action-unreachable",
        () => act("unreachable", { note: "" }));
      unreachable.disabled = card.failed_attempts < needed;
      unreachable.title = `Possible after ${needed} failed attempts`;
      node.append(unreachable);
    }
    if (mayWork(card) && status === "contacted") node.append(resolveForm(card));
    if (mayWork(card) && (status === "resolved" || status === "unreachable")) {
      node.append(closeForm());
    }
    if (["resolved", "closed", "unreachable"].includes(status)) node.append(reopenForm());
    if (profile && profile.may_reassign && status !== "closed") {
      node.append(reassignForm(card));
    }
    node.append(noteForm());
  }

  function field(labelText, control) {
    const label = make("label", "field");
    label.append(make("span", "field-label", labelText));
    label.append(control);
    return label;
  }

  function textInput(name, placeholder, type) {
    const input = make("input");
    input.type = type || "text";
    input.name = name;
    if (placeholder) input.placeholder = placeholder;
    return input;
  }

  function textArea(name, placeholder) {
    const area = make("textarea");
    area.name = name;
    area.rows = 2;
    if (placeholder) area.placeholder = placeholder;
    return area;
  }

  function select(name, options) {
    const node = make("select");
    node.name = name;
    for (const [value, label] of options) {
      const option = make("option", "", label);
      option.value = value;
      node.append(option);
    }
    return node;
  }

  function form(className, title) {
    const node = make("form", `action-form ${className}`);
    node.noValidate = true;
    if (title) node.append(make("h3", "", title));
    return node;
  }

  function attemptForm(card) {
    const node = form("form-attempt", "Log a contact attempt");
    const policy = profile.policy;
    const channel = select("channel", policy.channels.map((c) => [c, w.humanise(c)]));
    const note = textArea("note", "What happened (the customer's words, what you promised)");
    const hint = make("p", "hint");
    const twoWay = new Set(policy.two_way_channels);
    const updateHint = () => {
      const tried = card.first_attempt_at !== null && card.first_attempt_at !== undefined;
      hint.textContent = !twoWay.has(channel.value) && !tried
        ? "Try phone or in person first: a conversation recovers more than a message."
        : "";
      hint.hidden = !hint.textContent;
    };
    channel.addEventListener("change", updateHint);
    updateHint();
    const row = make("div", "form-row");
    row.append(field("Channel", channel));
    node.append(row, field("Note", note), hint);
    const buttons = make("div", "form-buttons");
    const send = (reached) => act("attempts", { channel: channel.value, reached, note: note.value });
    buttons.append(button("Reached the customer", "primary action-reached", () => send(true)));
    buttons.append(button("No answer", "secondary action-failed", () => send(false)));
    node.append(buttons);
    node.addEventListener("submit", (event) => event.preventDefault());
    return node;
  }

  function resolveForm(card) {
    const node = form("form-resolve", "Resolve");
    const causes = (profile.root_causes || []).map((c) => [c.code, c.label]);
    const cause = select("root_cause", causes);
    const coded = (card.reasons || []).map((r) => r.code).find((code) =>
      causes.some(([value]) => value === code));
    if (coded) cause.value = coded;
    const apology = make("input");
    apology.type = "checkbox";
    apology.name = "apology";
    apology.checked = true;
    const apologyLabel = make("label", "check");
    apologyLabel.append(apology, document.createTextNode(" Apologised"));
    const explanation = textArea("explanation", "What you explained");
    const compensation = textInput("compensation", "0", "number");
    compensation.min = "0";
    compensation.step = "0.01";
    const currency = textInput("currency", "EUR");
    currency.value = "EUR";
    currency.maxLength = 8;
    const processChange = textArea("process_change", "What changes so it does not happen again");
    const reaction = select("customer_reaction", REACTIONS);
    const note = textArea("note", "Anything else worth keeping");
    const money = make("div", "form-row");
    money.append(field("Compensation", compensation), field("Currency", currency));
    node.append(
      field("Confirmed root cause", cause),
      apologyLabel,
      field("Explanation", explanation),
      money,
      field("Process change", processChange),
      field("Customer's reaction", reaction),
      field("Note", note),
    );
    const submit = button("Resolve case", "primary action-resolve", () => {
      const value = compensation.value === "" ? null : Number(compensation.value);
      act("resolve", {
        root_cause: cause.value,
        resolution: {
          apology: apology.checked,
          explanation: explanation.value || null,
          compensation: value ? { kind: "credit", value, currency: currency.value || "EUR" }
            : null,
          process_change: processChange.value || null,
        },
        customer_reaction: reaction.value,
        note: note.value,
      });
    });
    node.append(submit);
    node.addEventListener("submit", (event) => event.preventDefault());
    return node;
  }

  function closeForm() {
    const node = form("form-close", "Close");
    const outcome = textArea("follow_up_outcome", "What the follow-up found");
    node.append(field("Follow-up outcome", outcome));
    node.append(button("Close case", "primary action-close",
      () => act("close", { follow_up_outcome: outcome.value })));
    node.addEventListener("submit", (event) => event.preventDefault());
    return node;
  }

  function reopenForm() {
    const node = form("form-reopen", "Reopen");
    const reason = textArea("reason", "Why it needs more work");
    node.append(field("Reason", reason));
    node.append(button("Reopen case", "secondary action-reopen", () => {
      if (!reason.value.trim()) {
        showError(new w.ApiError(0, "invalid_request", "Say why the case is reopened."));
        return;
      }
      act("reopen", { reason: reason.value });
    }));
    node.addEventListener("submit", (event) => event.preventDefault());
    return node;
  }

  // Supervisors pick the new owner from a list the server builds with the reassign rule
  // itself (GET /api/cases/{id}/assignees), so only agents who may take the case are offered.
  // Choosing another queue asks again for that queue's members.
  function reassignForm(card) {
    const node = form("form-reassign", "Reassign");
    const queue = make("select");
    queue.name = "queue";
    const agent = make("select");
    agent.name = "agent";
    let choices = [];
    const row = make("div", "form-row");
    row.append(field("To queue", queue), field("To agent", agent));
    node.append(row);
    const submit = button("Reassign", "secondary action-reassign", async () => {
      const chosen = choices[agent.selectedIndex];
      if (chosen === undefined) {
        showError(new w.ApiError(0, "invalid_request", "Choose who takes the case (or nobody)."));
        return;
      }
      if (!(await act("reassign", { agent: chosen, queue: queue.value || null }))) {
        load(queue.value); // the team may have changed since the list was read
      }
    });
    node.append(submit);
    node.addEventListener("submit", (event) => event.preventDefault());

    let asked = 0;
    async function load(target) {
      const ticket = ++asked;
      agent.disabled = true;
      agent.replaceChildren(make("option", "", "loading…"));
      choices = [];
      const query = target ? `?queue=${encodeURIComponent(target)}` : "";
      try {
        const options = await w.api("GET", `/api/cases/${card.case_id}/assignees${query}`);
        if (ticket !== asked || !node.isConnected) return; // a newer list or a rebuilt form
        fillQueues(queue, options);
        choices = fillAgents(agent, options);
        agent.disabled = false;
      } catch (error) {
        if (ticket === asked && node.isConnected) showError(error);
      }
    }
    queue.addEventListener("change", () => load(queue.value));
    load(null);
    return node;
  }

  function fillQueues(queue, options) {
    queue.replaceChildren();
    for (const name of options.queues) {
      const label = name === options.case_queue ? `${name} (where it is)` : name;
      const option = make("option", "", label);
      option.value = name;
      queue.append(option);
    }
    queue.value = options.queue;
  }

  // Returns what each option stands for: undefined for the prompt, null for "nobody".
  function fillAgents(agent, options) {
    agent.replaceChildren();
    const prompt = make("option", "", "choose an agent…");
    prompt.disabled = true;
    prompt.value = "";
    agent.append(prompt);
    const nobody = make("option", "", "nobody: back to the queue, unowned");
    nobody.value = "";
    agent.append(nobody);
    const choices = [undefined, null];
    for (const person of options.agents) {
      let label = person.name;
      if (person.role !== "agent") label += ` · ${person.role}`;
      if (person.owner) label += " (owns it now)";
      const option = make("option", "", label);
      option.value = person.name;
      agent.append(option);
      choices.push(person.name);
    }
    agent.selectedIndex = 0;
    return choices;
  }

  function noteForm() {
    const node = form("form-note", "Add a note");
    const text = textArea("text", "Visible to everyone working this queue");
    node.append(text);
    node.append(button("Add note", "secondary action-note", async () => {
      if (!text.value.trim()) return;
      if (await act("notes", { text: text.value })) text.value = "";
    }));
    node.addEventListener("submit", (event) => event.preventDefault());
    return node;
  }

  async function act(action, body) {
    if (!current) return false;
    const caseId = current.case_id;
    clearError();
    for (const node of root.querySelectorAll("#detail-actions button")) node.disabled = true;
    try {
      const card = await w.api("POST", `/api/cases/${caseId}/${action}`, body || {});
      onCard(card);
      update(card);
      return true;
    } catch (error) {
      showError(error);
      return false;
    } finally {
      for (const node of root.querySelectorAll("#detail-actions button")) {
        node.disabled = node.classList.contains("action-unreachable")
          && current && current.failed_attempts < profile.policy.unreachable_after_attempts;
      }
    }
  }

  function clearError() {
    const error = root.querySelector("#detail-error");
    if (error) error.hidden = true;
  }

  function showError(error) {
    const node = root.querySelector("#detail-error");
    if (!node) return;
    node.textContent = error && error.message ? error.message : "Something went wrong.";
    node.hidden = false;
    if (error && error.status === 409) scheduleRefresh();
  }

  // ---- attempts and history ----------------------------------------------------------------

  function renderAttempts(attempts) {
    const node = section("detail-attempts", "Contact attempts");
    const list = make("ol", "attempts");
    for (const attempt of attempts) {
      const item = make("li", `attempt ${attempt.reached ? "reached" : "failed"}`);
      item.append(make("span", "attempt-time", w.clock(attempt.attempted_at)));
      item.append(make("span", "attempt-channel", w.humanise(attempt.channel)));
      item.append(make("span", "attempt-result", attempt.reached ? "reached" : "no answer"));
      item.append(make("span", "attempt-agent", attempt.agent));
      if (attempt.note) item.append(make("div", "attempt-note", attempt.note));
      list.append(item);
    }
    node.replaceChildren(make("h3", "", "Contact attempts"));
    node.append(attempts.length ? list : make("p", "muted", "None yet."));
  }

  function describeChange(entry) {
    const data = entry.data || {};
    switch (entry.kind) {
      case "opened":
        return `in queue ${data.queue || "?"}, priority ${data.priority || "?"}`;
      case "claimed":
        return `by ${data.owner || entry.actor}`;
      case "contact_attempted":
        return `${w.humanise(data.channel)}: ${data.reached ? "reached" : "no answer"}`;
      case "resolved": {
        const offer = data.resolution || {};
        const parts = [`root cause ${rootCauseLabel(data.root_cause)}`];
        if (offer.apology) parts.push("apology");
        if (offer.compensation) {
          parts.push(`compensation ${offer.compensation.value} ${offer.compensation.currency}`);
        }
        if (offer.process_change) parts.push("process change");
        if (data.customer_reaction) parts.push(`customer ${w.humanise(data.customer_reaction)}`);
        return parts.join(" · ");
      }
      case "reassigned":
        return `to ${data.to_owner || "nobody"} in ${data.to_queue}`;
      case "sla_warning":
        return data.contact_due_at ? `contact due at ${w.clock(data.contact_due_at)}` : "";
      case "sla_breached":
        return data.to_queue ? `no contact attempt; escalated to ${data.to_queue}`
          : "no contact attempt by the deadline";
      case "claim_lapsed":
        return `${data.previous_owner || "the owner"} made no attempt; back in ${
          data.to_queue || "the queue"}, unowned`;
      default:
        return "";
    }
  }

  function renderHistory(history) {
    const node = section("detail-history", "History");
    const list = make("ol", "timeline");
    for (const entry of history) {
      const item = make("li", `event k-${entry.kind}`);
      item.dataset.seq = String(entry.seq);
      const line = make("div", "event-line");
      line.append(make("span", "event-kind", KIND_LABELS[entry.kind] || w.humanise(entry.kind)));
      const summary = describeChange(entry);
      if (summary) line.append(make("span", "event-summary", summary));
      line.append(make("span", "event-meta", `${entry.actor} · ${w.clock(entry.occurred_at)}`));
      item.append(line);
      const data = entry.data || {};
      const text = data.text || data.note || data.reason || data.follow_up_outcome;
      if (text) item.append(make("div", "event-text", text));
      list.append(item);
    }
    node.replaceChildren(make("h3", "", "History"), list);
  }

  window.winback.detail = {
    init, setProfile, open, close, update, refresh, shownCaseId, shownCase,
  };
})();
