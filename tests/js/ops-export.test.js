// The ops page's BI export without a browser: the address the form makes for the export API
// (UTC days, both ends included, empty filters left out, values encoded) and the words shown
// when the server refuses.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  dayStart, defaultRange, downloadName, exportPath, refusalText,
} from "../../services/notifier/winback_notifier/static/ops-export.js";

const query = (path) => Object.fromEntries(new URL(path, "http://x").searchParams);

describe("the export's address", () => {
  test("the days become UTC instants, the 'to' day included", () => {
    const path = exportPath({ format: "csv", from: "2026-11-01", to: "2026-11-30" });
    assert.ok(path.startsWith("/api/ops/export?"));
    assert.deepEqual(query(path), {
      format: "csv", since: "2026-11-01T00:00:00Z", until: "2026-12-01T00:00:00Z",
    });
  });

  test("the end of a month or a year rolls over", () => {
    const path = exportPath({ format: "parquet", from: "2025-12-31", to: "2025-12-31" });
    assert.deepEqual(query(path), {
      format: "parquet", since: "2025-12-31T00:00:00Z", until: "2026-01-01T00:00:00Z",
    });
  });

  test("empty filters are left out, so the API's defaults apply", () => {
    const path = exportPath({ format: "csv", from: "", to: "", queue: "  ", reason: "" });
    assert.equal(path, "/api/ops/export?format=csv");
  });

  test("queue and reason are encoded, the queue trimmed", () => {
    const path = exportPath({
      format: "csv", from: "2026-11-01", to: "2026-11-02", queue: " billing & co/#1 ",
      reason: "long_wait",
    });
    assert.match(path, /&queue=billing\+%26\+co%2F%231&reason=long_wait$/);
    assert.equal(query(path).queue, "billing & co/#1");
    assert.equal(query(path).reason, "long_wait");
  });

  test("a reversed window is sent as it is: the API's 422 says what is wrong", () => {
    const { since, until } = query(exportPath({ format: "csv", from: "2026-11-10", to: "2026-11-01" }));
    assert.equal(since, "2026-11-10T00:00:00Z");
    assert.equal(until, "2026-11-02T00:00:00Z");
  });

  test("only csv and parquet", () => {
    assert.throws(() => exportPath({ format: "xlsx", from: "2026-11-01", to: "2026-11-02" }));
  });

  test("a day that does not exist is no day", () => {
    assert.equal(dayStart("2026-02-30"), null);
    assert.equal(dayStart("30/11/2026"), null);
    assert.equal(dayStart("2024-02-29"), "2024-02-29T00:00:00Z");
  });
});

describe("the form's defaults and the saved file", () => {
  test("the last 30 days, today included, in UTC", () => {
    assert.deepEqual(defaultRange(Date.parse("2026-11-30T23:30:00Z")),
      { from: "2026-11-01", to: "2026-11-30" });
    assert.deepEqual(defaultRange(Date.parse("2026-03-01T00:10:00Z")),
      { from: "2026-01-31", to: "2026-03-01" });
  });

  test("the file takes the server's name, or one of its own", () => {
    assert.equal(downloadName('attachment; filename="winback-cases-20261101-20261201.csv"', "csv"),
      "winback-cases-20261101-20261201.csv");
    assert.equal(downloadName(null, "parquet"), "winback-cases.parquet");
  });
});

describe("a refusal in words", () => {
  test("the API's own message", () => {
    const payload = { error: { code: "invalid_filter", message: "until must be after since" } };
    assert.equal(refusalText(422, payload), "Export refused: until must be after since");
  });

  test("no message: the status, or that nothing answered", () => {
    assert.equal(refusalText(500, null), "Export failed (500).");
    assert.equal(refusalText(0, null), "Export failed (no answer from the server).");
    assert.match(refusalText(403, null), /supervisors and admins only/);
  });
});
