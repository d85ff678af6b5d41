// Why a case has its priority, in words: the router's decision names each step of the ladder
// as a trigger ("nps=2", "reason=rude", "heavy_reason=billing_error:2", "customer_segment=Gold",
// "follow_up_requested", ...) and the case's opening keeps them. A trigger this console does not
// know is shown as written rather than dropped.

const SCORE_NAMES = { nps: "NPS", csat: "CSAT", ces: "CES", stars: "stars" };

const PLAIN = {
  follow_up_requested: "asked to be contacted",
  follow_up_in_comment: "asked in the comment to be contacted",
  past_recovery_window: "answered past the recovery window",
};

// One trigger in words; `labelOf(code)` names a reason code.
export function describeTrigger(trigger, labelOf = (code) => code) {
  if (PLAIN[trigger]) return PLAIN[trigger];
  const at = trigger.indexOf("=");
  if (at < 0) return trigger;
  const key = trigger.slice(0, at);
  const value = trigger.slice(at + 1);
  if (SCORE_NAMES[key]) return `${SCORE_NAMES[key]} ${value}`;
  if (key === "reason") return labelOf(value);
  if (key === "heavy_reason") {
    const [code, weight] = value.split(":");
    return `${labelOf(code)} weighs ${weight} (up one)`;
  }
  if (key === "customer_segment") return `${value} customer (up one)`;
  if (key === "customer_value") return `lifetime value ${value} (up one)`;
  return trigger;
}

// "because NPS 2 · Rude or unhelpful staff", or "" when the opening kept no triggers (a case
// opened before they were kept).
export function describeTriggers(triggers, labelOf) {
  if (!Array.isArray(triggers) || triggers.length === 0) return "";
  return `because ${triggers.map((trigger) => describeTrigger(String(trigger), labelOf)).join(" · ")}`;
}

// A revision's history entry (a later delivery of the response, coded again): "comment added,
// priority 1, because NPS 2 · Billing error".
export function describeRevision(data, labelOf) {
  const parts = [];
  if (data.comment_added) parts.push("comment added");
  if (data.priority) parts.push(`priority ${data.priority}`);
  const why = describeTriggers(data.triggers, labelOf);
  if (why) parts.push(why);
  return parts.join(", ");
}
