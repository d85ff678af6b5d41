// The ops page's "Export for BI" as data: the form's values -> the export API's address, and
// the words shown when the server refuses. Pure (no DOM, no fetch), so tests/js checks it;
// ops-export-view.js wires the form and performs the download.
//
// The form asks for whole days, "from" and "to" both included, read as UTC days: the API takes
// cases opened in [since, until), so `until` is the start of the day after "to". Empty filters
// are left out of the address (the API's defaults apply), and every value is encoded.

export const EXPORT_PATH = "/api/ops/export";
export const FORMATS = ["csv", "parquet"];
export const DEFAULT_DAYS = 30;
const DAY_MS = 86400000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

// "YYYY-MM-DD" of a moment, in UTC (the value an <input type=date> takes).
export function utcDay(moment) {
  return new Date(moment).toISOString().slice(0, 10);
}

// The form's first values: the last 30 days, today included.
export function defaultRange(now = Date.now()) {
  return { from: utcDay(now - (DEFAULT_DAYS - 1) * DAY_MS), to: utcDay(now) };
}

// The start of a "YYYY-MM-DD" day in UTC as an ISO string, `plusDays` later; null if not a day.
export function dayStart(day, plusDays = 0) {
  const match = DAY.exec(String(day || "").trim());
  if (!match) return null;
  const [, year, month, date] = match.map(Number);
  const moment = new Date(Date.UTC(year, month - 1, date + plusDays));
  if (utcDay(Date.UTC(year, month - 1, date)) !== `${match[1]}-${match[2]}-${match[3]}`) {
    return null; // 2026-02-30 and the like
  }
  return moment.toISOString().replace(".000Z", "Z");
}

// The download's address for these form values: {format, from, to, queue, reason}.
export function exportPath({ format, from, to, queue, reason }) {
  if (!FORMATS.includes(format)) throw new Error(`unknown export format: ${format}`);
  const params = new URLSearchParams({ format });
  const since = dayStart(from);
  const until = dayStart(to, 1);
  if (since) params.append("since", since);
  if (until) params.append("until", until);
  const queueName = String(queue || "").trim();
  if (queueName) params.append("queue", queueName);
  if (reason) params.append("reason", String(reason));
  return `${EXPORT_PATH}?${params.toString()}`;
}

// The file name for the saved blob: the server's Content-Disposition, or one made from the form.
export function downloadName(disposition, format) {
  const match = /filename="?([^";]+)"?/i.exec(disposition || "");
  return match ? match[1] : `winback-cases.${format}`;
}

// What the page says when the export is refused: the API's own message when it sent one.
export function refusalText(status, payload) {
  const message = payload && payload.error && payload.error.message;
  if (status === 401) return "Export refused: the sign-in has expired; sign in again in the console.";
  if (status === 403) return "Export refused: supervisors and admins only.";
  if (message) return `Export refused: ${message}`;
  return `Export failed (${status || "no answer from the server"}).`;
}
