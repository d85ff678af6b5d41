// How news reaches an agent who is not looking at the board: pop-ups (toasts), a short sound
// and, when the console is in the background, a desktop notification. The board state decides
// when; this module only knows how.

import { lateAnswerFlag, make } from "./dom.js";
import { customerName, describeScore, priorityClass, reasonLabels, worstScore } from "./format.js";

const SOUND_KEY = "winback.sound";
const TOAST_MS = 15000;
const MAX_TOASTS = 5;
const TOAST_COMMENT_CHARS = 240;

// What a pop-up says, by why it pops up; a new case is titled by its status.
const REASONS = {
  sla_breached: { title: "SLA breached", kind: "sla-breached" },
  claim_lapsed: { title: "Claim lapsed: back in the queue", kind: "claim-lapsed" },
  offer_requested: { title: "Approval requested", kind: "offer" },
  offer_overdue: { title: "Approval overdue", kind: "offer" },
  offer_approved: { title: "Offer approved", kind: "offer" },
  offer_declined: { title: "Offer declined", kind: "offer" },
  call_back_missed: { title: "Call-back missed", kind: "sla-breached" },
};

export function createAlerts({ toasts, soundToggle, soundAllow, notifyToggle, onOpen }) {
  let audio = null;

  // `detail`: a line saying what happened (an offer's amount and who asks or answered).
  function showToast(card, reason, detail) {
    const special = REASONS[reason];
    const kind = special ? ` toast-${special.kind}` : "";
    const toast = make("div", `toast ${priorityClass(card.priority)}${kind}`);
    toast.setAttribute("role", "alert");
    toast.dataset.caseId = String(card.case_id);

    const head = make("div", "toast-head");
    head.append(make("span", "priority", `P${card.priority}`));
    const title = special ? special.title
      : card.status === "reopened" ? "Reopened case" : "New recovery case";
    head.append(make("span", "toast-title", title));
    const close = make("button", "toast-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    head.append(close);
    toast.append(head);

    const who = make("div", "toast-customer", customerName(card));
    const score = worstScore(card.scores);
    if (score) who.append(make("span", "score", describeScore(score)));
    const late = lateAnswerFlag(card);
    if (late) who.append(late);
    toast.append(who);
    if (detail) toast.append(make("div", "toast-detail", detail));
    const reasons = reasonLabels(card);
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
      onOpen(card.case_id, { flash: true });
    });
    timer = setTimeout(dismiss, TOAST_MS);

    toasts.prepend(toast);
    while (toasts.children.length > MAX_TOASTS) toasts.lastElementChild.remove();
  }

  function dismissFor(caseId) {
    for (const toast of toasts.querySelectorAll(".toast")) {
      if (toast.dataset.caseId === String(caseId)) toast.remove();
    }
  }

  function soundEnabled() {
    return localStorage.getItem(SOUND_KEY) !== "off";
  }

  // Browsers keep a page silent until the person using it clicks or presses a key in it (the
  // autoplay policy). An agent who opens the console and waits would miss every chime while the
  // toggle said "Sound on"; so while the page may not play, an "Allow sound" button stands in
  // for the toggle, and the first click or key anywhere in the page lets it play.
  function audioContext() {
    if (audio) return audio;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    audio = new Context();
    audio.addEventListener("statechange", renderSoundToggle);
    return audio;
  }

  function soundBlocked() {
    return soundEnabled() && audio !== null && audio.state !== "running" && audio.state !== "closed";
  }

  // Called from a click or a key press, the only moments a browser lets a page start its sound.
  function allowSound() {
    if (!soundEnabled()) return;
    const context = audioContext();
    if (context && context.state !== "running") context.resume().catch(() => {});
  }

  function renderSoundToggle() {
    const on = soundEnabled();
    const blocked = soundBlocked();
    soundToggle.textContent = on ? "Sound on" : "Sound off";
    soundToggle.setAttribute("aria-pressed", String(on));
    soundToggle.hidden = blocked;
    soundAllow.hidden = !blocked;
  }

  function beep() {
    if (!soundEnabled()) return;
    try {
      audioContext();
      if (!audio) return;
      if (audio.state !== "running") return;  // blocked: "Allow sound" says so
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
      const note = new Notification(`P${card.priority} ${customerName(card)}`, {
        body: reasonLabels(card).join(" · ") || "New recovery case",
        tag: `winback-case-${card.case_id}`,
      });
      note.addEventListener("click", () => {
        window.focus();
        onOpen(card.case_id, { flash: false });
        note.close();
      });
    } catch (error) {
      // Some browsers only allow notifications from a service worker.
    }
  }

  function renderNotifyToggle() {
    const supported = "Notification" in window;
    notifyToggle.hidden = !supported || Notification.permission !== "default";
  }

  soundToggle.addEventListener("click", () => {
    localStorage.setItem(SOUND_KEY, soundEnabled() ? "off" : "on");
    allowSound();
    renderSoundToggle();
  });
  soundAllow.addEventListener("click", allowSound);
  window.addEventListener("pointerdown", allowSound, true);
  window.addEventListener("keydown", allowSound, true);
  notifyToggle.addEventListener("click", () => {
    Notification.requestPermission().then(renderNotifyToggle, renderNotifyToggle);
  });
  if (soundEnabled()) audioContext();  // to learn at once whether the browser lets it play
  renderSoundToggle();
  renderNotifyToggle();

  return { showToast, dismissFor, beep, notifyDesktop };
}
