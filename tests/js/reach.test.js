// Phone and e-mail become links only when they plainly are a number or an address.

import assert from "node:assert/strict";
import { test } from "node:test";

import { mailtoHref, telHref } from "../../services/notifier/winback_notifier/static/reach.js";

test("a phone number becomes a tel: link of digits and a leading +", () => {
  assert.equal(telHref("+1 555 0100"), "tel:+15550100");
  assert.equal(telHref("(030) 123-45.67"), "tel:030123 4567".replace(" ", ""));
  assert.equal(telHref("+44 20 7946 0958"), "tel:+442079460958");
});

test("anything else stays text", () => {
  for (const value of ["call me", "555-CALL-NOW", "12", "+1 555 0100;ext=2", "javascript:alert(1)",
    "1+555", "", null, undefined, 15550100]) {
    assert.equal(telHref(value), null, String(value));
  }
});

test("an address becomes a mailto: link", () => {
  assert.equal(mailtoHref("dana@example.com"), "mailto:dana@example.com");
  assert.equal(mailtoHref(" o'neil+vip@mail.example.co.uk "), "mailto:o'neil+vip@mail.example.co.uk");
});

test("what only looks a little like an address stays text", () => {
  for (const value of ["dana", "dana@example", "a b@example.com", "dana@example.com?cc=x@y.z",
    "dana@example.com\"><script>", "javascript:alert(1)//@x.com", "@example.com", "a@@b.com",
    null, `${"a".repeat(250)}@example.com`]) {
    assert.equal(mailtoHref(value), null, String(value));
  }
});
