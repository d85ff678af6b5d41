// The case panel's reasons and comment, read together: each reason gets a number and a colour,
// and the words that carried it are marked with that number inside the one comment. A reason
// whose words cannot be found in the comment (or that quotes a chosen answer) shows its quote.
// Customer text only ever becomes text nodes and <mark> elements, never parsed markup.

import { make } from "./dom.js";
import { locateEvidence, segments } from "./evidence.js";
import { humanise } from "./format.js";

const COLOURS = 6; // .ev-c0 ... .ev-c5 in console.css

function colour(index) {
  return `ev-c${index % COLOURS}`;
}

function reasonItem(reason, index, placed) {
  const item = make("li", "evidence");
  item.dataset.reason = String(index + 1);
  const title = make("div", "evidence-title");
  title.append(make("span", `evidence-number ${colour(index)}`, String(index + 1)));
  title.append(make("span", "reason", reason.label || reason.code));
  const how = `${humanise(reason.method)} · ${Math.round((reason.confidence ?? 1) * 100)}%`;
  title.append(make("span", "evidence-method", how));
  item.append(title);
  if (placed) {
    item.append(make("div", "evidence-body evidence-source", "marked in the comment"));
  } else if (reason.evidence) {
    const body = make("div", "evidence-body");
    const where = { comment: "in the comment", answer: "chosen answer" }[reason.evidence_source];
    if (where) body.append(make("span", "evidence-source", `${where}: `));
    body.append(make("q", "evidence-quote", reason.evidence));
    item.append(body);
  }
  // A model-coded reason: the labelled comments it resembles, so the agent can judge it.
  if ((reason.similar || []).length > 0) {
    const like = make("ul", "evidence-similar");
    for (const other of reason.similar) {
      const codes = other.codes.length ? other.codes.map(humanise).join(", ") : "no reason";
      const row = make("li", "");
      row.append(make("q", "evidence-quote", other.text));
      row.append(make("span", "evidence-source", ` labelled ${codes}`));
      like.append(row);
    }
    item.append(make("div", "evidence-source", "Like these labelled comments:"), like);
  }
  return item;
}

function markedComment(text, marks, reasons) {
  const quote = make("blockquote", "detail-comment");
  for (const piece of segments(text, marks)) {
    if (piece.reasons.length === 0) {
      quote.append(document.createTextNode(piece.text));
      continue;
    }
    const mark = make("mark", `ev-mark ${colour(piece.reasons[0])}`, piece.text);
    if (piece.reasons.length > 1) mark.classList.add("ev-overlap");
    mark.dataset.reasons = piece.reasons.map((index) => index + 1).join(" ");
    mark.title = piece.reasons.map((index) => reasons[index].label || reasons[index].code)
      .join(" · ");
    if (piece.ends.length) mark.dataset.ends = piece.ends.map((index) => index + 1).join(",");
    quote.append(mark);
  }
  return quote;
}

// Appends the reasons and the comment of `card` to `parent`.
export function renderEvidence(parent, card) {
  const reasons = card.reasons || [];
  const { text, marks, placed } = locateEvidence(card.comment, reasons);
  if (reasons.length > 0) {
    parent.append(make("h3", "", "Why the customer is unhappy"));
    const list = make("ul", "evidence-list");
    reasons.forEach((reason, index) => list.append(reasonItem(reason, index, placed[index])));
    parent.append(list);
  }
  if (text) {
    parent.append(make("h3", "", "What they wrote"));
    parent.append(markedComment(text, marks, reasons));
  }
}
