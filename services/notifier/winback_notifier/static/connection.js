// The console's one websocket: sign in with the token (in a message, never the URL), hand every
// message on, ping now and then, and reconnect with backoff when the connection drops. A close
// with 4401 means the token no longer signs in: no reconnecting then.

const CLOSE_UNAUTHORIZED = 4401;
const REVOKED_PREFIX = "access revoked";
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 10000;
const PING_MS = 25000;

// `onMessage(message)`: each parsed message. `onStatus(state, text)`: "connecting",
// "reconnecting" or "live" (see `markLive`). `onRejected(revoked)`: the server refused the
// token; `revoked` when it was good until the agent was disabled or its token replaced.
// `reconnect()`: called when the backoff is over; it calls `connect` again with the token the
// tab holds then, and the cursor of the board it shows (null before the first snapshot): the
// server answers a cursor with what changed since instead of a fresh snapshot.
export function createConnection({ onMessage, onStatus, onRejected, reconnect }) {
  let socket = null;
  let status = "offline";
  let reconnectTimer = null;
  let pingTimer = null;
  let backoffMs = BACKOFF_START_MS;

  function setStatus(state, text) {
    status = state;
    onStatus(state, text);
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}/ws`;
  }

  function connect(token, cursor = null) {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (status !== "reconnecting") setStatus("connecting", "connecting");

    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify(cursor ? { type: "auth", token, cursor } : { type: "auth", token }));
      clearInterval(pingTimer);
      // A ping now and then makes a dead connection (laptop asleep, proxy gone) close.
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      }, PING_MS);
    });
    ws.addEventListener("message", (event) => {
      if (socket !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn("winback: unreadable message ignored", error);
        return;
      }
      onMessage(message);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      if (event.code === CLOSE_UNAUTHORIZED) {
        onRejected(String(event.reason || "").startsWith(REVOKED_PREFIX));
        return;
      }
      scheduleReconnect();
    });
    // An error is always followed by a close event, which does the reconnecting.
  }

  function scheduleReconnect() {
    setStatus("reconnecting", "reconnecting");
    clearTimeout(reconnectTimer);
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    reconnectTimer = setTimeout(reconnect, delay);
  }

  function disconnect() {
    clearTimeout(reconnectTimer);
    clearInterval(pingTimer);
    reconnectTimer = null;
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000, "signed out");
    }
  }

  // The board is in sync again (a snapshot arrived): the next drop starts its backoff afresh.
  function markLive() {
    backoffMs = BACKOFF_START_MS;
    setStatus("live", "live");
  }

  function resetBackoff() {
    backoffMs = BACKOFF_START_MS;
  }

  function waitingToReconnect() {
    return reconnectTimer !== null;
  }

  function signedOut() {
    setStatus("offline", "signed out");
  }

  return { connect, disconnect, markLive, resetBackoff, waitingToReconnect, signedOut };
}
