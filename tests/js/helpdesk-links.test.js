// The case panel's links to the helpdesk tickets of a case.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ticketLinks } from "../../services/notifier/winback_notifier/static/helpdesk-links.js";

test("a Zendesk ticket reads as a link to its page", () => {
  const detail = {
    tickets: [{ system: "zendesk", ticket_id: "4821", url: "https://acme.zendesk.com/agent/tickets/4821" }],
  };
  assert.deepEqual(ticketLinks(detail), [
    { label: "Zendesk ticket #4821", href: "https://acme.zendesk.com/agent/tickets/4821" },
  ]);
});

test("a case without tickets has no links, and an address that is not http(s) is no link", () => {
  assert.deepEqual(ticketLinks({ tickets: [] }), []);
  assert.deepEqual(ticketLinks({}), []);
  const [link] = ticketLinks({
    tickets: [{ system: "zendesk", ticket_id: "1", url: "javascript:alert(1)" }],
  });
  assert.equal(link.href, null);
  assert.equal(link.label, "Zendesk ticket #1");
});
