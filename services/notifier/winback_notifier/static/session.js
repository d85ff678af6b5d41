// The agent's token, kept in this tab's sessionStorage only. A `#token=...` link (what
// `winback run` prints) signs the tab in and leaves the address bar at once.

const TOKEN_KEY = "winback.token";

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export function linkCarriesToken() {
  return /(^#|&)token=/.test(window.location.hash);
}

export function takeTokenFromUrl() {
  // Parsed by hand: URLSearchParams would turn a "+" in a token into a space.
  const parts = window.location.hash.replace(/^#/, "").split("&").filter(Boolean);
  const found = parts.find((part) => part.startsWith("token="));
  if (found === undefined) return;
  let token = found.slice("token=".length);
  try {
    token = decodeURIComponent(token);
  } catch (error) {
    // not percent-encoded: use it as it is
  }
  if (token) keepToken(token);
  const rest = parts.filter((part) => part !== found).join("&");
  const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
  history.replaceState(history.state, "", url);
}

// A `#case=ID` link (the ops page's chase list) opens that case once the board has loaded.
// Answers the case id, or null, and leaves the rest of the address as it was.
export function takeCaseFromUrl() {
  const parts = window.location.hash.replace(/^#/, "").split("&").filter(Boolean);
  const found = parts.find((part) => part.startsWith("case="));
  if (found === undefined) return null;
  const rest = parts.filter((part) => part !== found).join("&");
  const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
  history.replaceState(history.state, "", url);
  const caseId = Number(found.slice("case=".length));
  return Number.isInteger(caseId) && caseId > 0 ? caseId : null;
}
