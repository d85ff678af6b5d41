// Where each coded reason's evidence sits inside the customer's comment, so the panel can mark
// the words that carried it in the one comment instead of quoting it a second time. Pure: no
// DOM, tested under Node (tests/js/evidence.test.js).
//
// The router stores `span` as code-point offsets into the NFC comment; JavaScript strings count
// UTF-16 units, so an emoji shifts everything after it unless the offsets are converted. A span
// is trusted only when its words agree with the quoted evidence (a comment revised since coding
// would otherwise mark the wrong words); without a usable span the quote is looked up in the
// comment, ignoring case, accents and runs of white space. A reason whose words cannot be found
// stays unplaced, and the panel shows its quote as before.

const ELLIPSIS = /^…|…$/gu;

// `text` folded for matching (lower case, accents dropped, white space runs as one space), with
// where each folded unit came from in `text`, so a match maps back to the original words.
export function fold(text) {
  let folded = "";
  const starts = [];
  const ends = [];
  let index = 0;
  for (const char of text) {
    const next = index + char.length;
    if (/\s/u.test(char)) {
      if (!folded.endsWith(" ")) {
        folded += " ";
        starts.push(index);
        ends.push(next);
      }
    } else {
      const plain = char.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
      for (let unit = 0; unit < plain.length; unit += 1) {
        folded += plain[unit];
        starts.push(index);
        ends.push(next);
      }
    }
    index = next;
  }
  return { folded, starts, ends };
}

function folded(text) {
  return fold(text).folded.trim();
}

// The UTF-16 index of code point `offset` of `text`, or null when `text` is shorter.
function unitIndex(text, offset) {
  let index = 0;
  let count = 0;
  for (const char of text) {
    if (count === offset) return index;
    index += char.length;
    count += 1;
  }
  return count === offset ? index : null;
}

// The evidence without the "…" the router adds where it cut a long sentence.
function quoteCore(evidence) {
  return folded(String(evidence || "").trim().replace(ELLIPSIS, ""));
}

function fromSpan(text, reason) {
  const span = reason.span;
  if (!Array.isArray(span) || span.length !== 2) return null;
  const start = unitIndex(text, span[0]);
  const end = unitIndex(text, span[1]);
  if (start === null || end === null || start >= end) return null;
  const words = folded(text.slice(start, end));
  const quote = quoteCore(reason.evidence);
  // A rule's span is the hit inside its quoted sentence; a model's span is the sentence, of
  // which the quote may be a cut.
  if (!quote || (!quote.includes(words) && !words.includes(quote))) return null;
  return { start, end };
}

function bySearch(text, reason) {
  const quote = quoteCore(reason.evidence);
  if (!quote) return null;
  const { folded: haystack, starts, ends } = fold(text);
  const at = haystack.indexOf(quote);
  if (at < 0) return null;
  return { start: starts[at], end: ends[at + quote.length - 1] };
}

// Where each reason's words are in `comment`. Returns the text the offsets refer to (the NFC
// form, which looks the same), `marks` as {reason, start, end} (reason = index in `reasons`)
// and `placed`, one boolean per reason. Reasons quoting a chosen answer are never placed.
export function locateEvidence(comment, reasons) {
  const text = String(comment || "").normalize("NFC");
  const marks = [];
  const placed = (reasons || []).map((reason, index) => {
    if (!text || !reason || reason.evidence_source === "answer") return false;
    const found = fromSpan(text, reason) || bySearch(text, reason);
    if (found) marks.push({ reason: index, ...found });
    return Boolean(found);
  });
  return { text, marks, placed };
}

// `text` cut at every mark's edge: [{text, reasons, ends}], where `reasons` lists the marks
// covering the piece (overlaps list several) and `ends` those whose last piece it is, so each
// reason's number can follow its words once.
export function segments(text, marks) {
  const cuts = new Set([0, text.length]);
  for (const mark of marks) {
    cuts.add(mark.start);
    cuts.add(mark.end);
  }
  const edges = [...cuts].filter((at) => at >= 0 && at <= text.length).sort((a, b) => a - b);
  const pieces = [];
  for (let i = 0; i + 1 < edges.length; i += 1) {
    const [from, to] = [edges[i], edges[i + 1]];
    const covering = marks.filter((mark) => mark.start <= from && to <= mark.end);
    pieces.push({
      text: text.slice(from, to),
      reasons: [...new Set(covering.map((mark) => mark.reason))].sort((a, b) => a - b),
      ends: covering.filter((mark) => mark.end === to).map((mark) => mark.reason)
        .sort((a, b) => a - b),
    });
  }
  return pieces;
}
