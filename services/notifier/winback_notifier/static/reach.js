// Links that reach the customer in one click: `tel:` and `mailto:`. Pure (tests/js/reach.test.js).
// The values come from a survey vendor, so a link is made only from what plainly is a phone
// number or an address; anything else is shown as text and never becomes a URL.

const PHONE_PUNCTUATION = /[\s().-]/gu;
const DIALABLE = /^\+?\d{3,20}$/u;
// One @, no spaces, no characters that would end or extend the URL (?, #, &, %, quotes...),
// and a dot in the domain.
const ADDRESS = /^[A-Za-z0-9._+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/u;

// `tel:` followed by digits (and a leading +), or null when `phone` is not a phone number.
export function telHref(phone) {
  if (typeof phone !== "string") return null;
  const digits = phone.trim().replace(PHONE_PUNCTUATION, "");
  return DIALABLE.test(digits) ? `tel:${digits}` : null;
}

// `mailto:` and the address, or null when `email` does not look like one.
export function mailtoHref(email) {
  if (typeof email !== "string") return null;
  const address = email.trim();
  return address.length <= 254 && ADDRESS.test(address) ? `mailto:${address}` : null;
}
