// The case panel's offers: what the agent gives the customer on the call, within their limit at
// once, above it once a supervisor approves. Supervisors answer pending requests here, without
// taking the case. Every step is a call to the offers API (`/api/cases/{id}/offers...`); the
// rules (limits, who may answer, one currency per case) are checked there, once, and the
// change comes back live to every console showing the case.
//
// The pure part (who may offer or answer, what a pop-up says) is offer-rules.js.

import { api } from "./api.js";
import { button, make } from "./dom.js";
import { clock, humanise } from "./format.js";
import {
  STATUS_TEXT, foresee, givenText, limitText, mayAnswer, mayOffer, money,
} from "./offer-rules.js";

// `section`: the panel's node for offers; `onActed(card)`: the answer's card for the board;
// `showError(error)`: the panel's error line.
export function createOffers({ section, onActed, showError }) {
  let card = null;
  let profile = null;
  let view = null;
  let formKey = "";

  function setProfile(value) {
    profile = value;
    formKey = "";
  }

  function render(value) {
    card = value;
    draw();
  }

  async function refresh(caseId) {
    try {
      const read = await api("GET", `/api/cases/${caseId}/offers`);
      if (!card || card.case_id !== caseId) return;
      view = read;
      draw();
    } catch (error) {
      showError(error);
    }
  }

  async function send(path, body) {
    if (!card) return;
    const caseId = card.case_id;
    try {
      const result = await api("POST", `/api/cases/${caseId}/${path}`, body);
      onActed(result.case);
      await refresh(caseId);
      return result.offer;
    } catch (error) {
      showError(error);
      return null;
    }
  }

  function draw() {
    if (!card) return;
    const canOffer = mayOffer(card, profile);
    const offers = view && view.offers ? view.offers : [];
    section.hidden = !canOffer && offers.length === 0;
    let list = section.querySelector(".offers");
    if (!list) {
      section.replaceChildren(make("h3", "", "Offers"));
      list = make("ol", "offers");
      section.append(list);
    }
    list.replaceChildren(...offers.map(offerItem));
    let given = section.querySelector(".offers-given");
    if (!given) {
      given = make("p", "offers-given muted");
      list.after(given);
    }
    given.textContent = givenText(offers);
    given.hidden = !given.textContent;
    const key = [card.case_id, canOffer, profile && profile.name].join("|");
    const existing = section.querySelector(".offer-form");
    if (key !== formKey || (!existing && canOffer)) {
      formKey = key;
      if (existing) existing.remove();
      if (canOffer) section.append(offerForm());
    } else if (existing) {
      existing.dispatchEvent(new Event("input"));
    }
  }

  function offerItem(offer) {
    const item = make("li", `offer offer-${offer.status}${offer.overdue_at ? " offer-overdue" : ""}`);
    item.dataset.offerId = String(offer.offer_id);
    const line = make("div", "offer-line");
    line.append(make("span", "offer-what", `${money(offer.amount, offer.currency)} ${
      humanise(offer.kind)}`));
    line.append(make("span", "offer-status", STATUS_TEXT[offer.status] || offer.status));
    const by = offer.answered_by ? `${offer.requested_by} · ${offer.status} by ${offer.answered_by}`
      : offer.requested_by;
    line.append(make("span", "offer-meta", `${by} · ${clock(offer.requested_at)}`));
    item.append(line);
    if (offer.note) item.append(make("div", "offer-note", offer.note));
    if (offer.answer_reason) item.append(make("div", "offer-reason", offer.answer_reason));
    if (mayAnswer(offer, profile)) item.append(answerControls(offer));
    return item;
  }

  function answerControls(offer) {
    const box = make("div", "offer-answer");
    const reason = make("input");
    reason.type = "text";
    reason.name = "decline-reason";
    reason.placeholder = "Why not (needed to decline)";
    const base = `offers/${offer.offer_id}`;
    const approve = button("Approve", "primary small action-approve", () => send(`${base}/approve`, {}));
    const decline = button("Decline", "secondary small action-decline", () => {
      if (!reason.value.trim()) {
        reason.focus();
        return;
      }
      send(`${base}/decline`, { reason: reason.value.trim() });
    });
    box.append(approve, reason, decline);
    return box;
  }

  function offerForm() {
    const form = make("form", "action-form offer-form");
    form.noValidate = true;
    const kind = make("select");
    kind.name = "kind";
    for (const value of profile.offers.kinds) {
      const option = make("option", "", humanise(value));
      option.value = value;
      kind.append(option);
    }
    const amount = make("input");
    amount.type = "number";
    amount.name = "amount";
    amount.min = "0.01";
    amount.step = "0.01";
    amount.placeholder = "0.00";
    const currency = make("input");
    currency.type = "text";
    currency.name = "currency";
    currency.maxLength = 3;
    currency.size = 4;
    currency.value = (view && view.currency) || (view && view.limits && view.limits[0]
      && view.limits[0].currency) || "EUR";
    const note = make("input");
    note.type = "text";
    note.name = "offer-note";
    note.placeholder = "What you told the customer";
    const hint = make("p", "offer-hint muted");
    const submit = make("button", "primary action-offer", "Offer");
    submit.type = "submit";
    const row = make("div", "offer-row");
    row.append(kind, amount, currency, submit);
    form.append(row, note, hint);
    const update = () => {
      const code = currency.value.trim().toUpperCase();
      const fate = foresee(view, Number(amount.value), code);
      hint.textContent = `${limitText(view, code)}${fate === "pending"
        ? " This offer will ask a supervisor." : ""}`;
    };
    form.addEventListener("input", update);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!(Number(amount.value) > 0)) {
        amount.focus();
        return;
      }
      submit.disabled = true;
      const made = await send("offers", {
        kind: kind.value,
        amount: Number(amount.value),
        currency: currency.value.trim().toUpperCase(),
        note: note.value.trim(),
      });
      submit.disabled = false;
      if (made) {
        amount.value = "";
        note.value = "";
        update();
      }
    });
    update();
    return form;
  }

  return { setProfile, render, refresh };
}
