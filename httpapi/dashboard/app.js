// The dashboard: the REST API under /api/v1, signed in with a username
// and password (POST /api/v1/login answers a bearer token) or an API key,
// and a live view over MQTT over WebSocket (mqtt.js).
"use strict";

const $ = (id) => document.getElementById(id);
// auth is the Authorization header of every call: "Bearer TOKEN" after a
// login, "Basic ..." with an API key, "" when the server needs none.
let auth = sessionStorage.getItem("mqgate-authorization") || "";
let who = sessionStorage.getItem("mqgate-who") || "";
let selected = "";
let live = null;
let timer = null;

async function api(method, path, body) {
  const headers = { "X-Requested-With": "mqgate-dashboard" };
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    signedOut(!auth ? "" : auth.startsWith("Basic ") ? "The API key was refused." : "Your session has ended: sign in again.");
    throw new Error("unauthorized");
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((data && data.message) || r.statusText);
  return data;
}

// signIn keeps the credentials for this tab and opens the dashboard.
function signIn(header, name) {
  auth = header;
  who = name;
  sessionStorage.setItem("mqgate-authorization", auth);
  sessionStorage.setItem("mqgate-who", who);
  start();
}

// signedOut forgets the credentials, stops what runs with them and shows
// the sign-in form with msg.
function signedOut(msg) {
  auth = "";
  who = "";
  sessionStorage.removeItem("mqgate-authorization");
  sessionStorage.removeItem("mqgate-who");
  clearInterval(timer);
  timer = null;
  if (live) { live.close(); live = null; }
  $("logout").hidden = true;
  $("whoami").textContent = "";
  showLogin(msg);
}

function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }

function fill(tbody, rows, render) {
  tbody.replaceChildren();
  for (const row of rows) { const tr = document.createElement("tr"); render(tr, row); tbody.appendChild(tr); }
}

function showLogin(msg) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = msg || "";
}

async function refresh() {
  const s = await api("GET", "/api/v1/status");
  $("node").textContent = s.node;
  $("version").textContent = "v" + s.version;
  $("uptime").textContent = "up " + s.uptime + "s";
  for (const [id, v] of [["connections", s.connections], ["sessions", s.sessions], ["subscriptions", s.subscriptions],
    ["retained", s.retained], ["in", s.messages_received], ["out", s.messages_sent], ["dropped", s.messages_dropped]]) {
    $("ov-" + id).textContent = v;
  }
  const gws = await api("GET", "/api/v1/gateways");
  const listeners = s.listeners.concat(...gws.map((g) => g.listeners));
  fill($("listeners").tBodies[0], listeners.filter((l, i, a) => a.findIndex((m) => m.protocol === l.protocol && m.name === l.name) === i),
    (tr, l) => { cell(tr, l.protocol); cell(tr, l.name); cell(tr, l.address); cell(tr, l.connections); });

  const clients = await api("GET", "/api/v1/clients?limit=200");
  fill($("clients").tBodies[0], clients.data, (tr, c) => {
    tr.dataset.clientid = c.clientid;
    if (c.clientid === selected) tr.className = "selected";
    cell(tr, c.clientid); cell(tr, c.username || "-"); cell(tr, c.proto_name + " " + c.proto_ver);
    cell(tr, c.connected ? "yes" : "no"); cell(tr, c.ip_address ? c.ip_address + ":" + c.port : "-");
    cell(tr, c.subscriptions_cnt); cell(tr, c.mqueue_len);
    const b = document.createElement("button");
    b.textContent = "Kick"; b.className = "kick"; b.disabled = !c.connected;
    b.onclick = async (ev) => {
      ev.stopPropagation();
      try { await api("DELETE", "/api/v1/clients/" + encodeURIComponent(c.clientid)); } catch (e) { alert(e.message); }
      refresh();
    };
    cell(tr, "").appendChild(b);
    tr.onclick = () => { selected = c.clientid; showSubscriptions(); refresh(); };
  });

  const bridges = await api("GET", "/api/v1/bridges");
  fill($("bridges").tBodies[0], bridges, (tr, b) => {
    cell(tr, b.name); cell(tr, b.status); cell(tr, b.address || "-"); cell(tr, b.queued);
    cell(tr, Math.round(b.oldest_age_seconds) + "s"); cell(tr, b.dropped); cell(tr, b.reconnects); cell(tr, b.last_error || "-");
  });

  const retained = await api("GET", "/api/v1/retained?limit=100");
  fill($("retained").tBodies[0], retained.data, (tr, m) => {
    cell(tr, m.topic); cell(tr, m.qos); cell(tr, m.payload_size); cell(tr, m.from_clientid || "-");
  });
  if (selected) showSubscriptions();
}

async function showSubscriptions() {
  $("subs-client").textContent = selected;
  let subs = [];
  try { subs = await api("GET", "/api/v1/clients/" + encodeURIComponent(selected) + "/subscriptions"); } catch (e) { subs = []; }
  fill($("subscriptions").tBodies[0], subs, (tr, s) => { cell(tr, s.topic); cell(tr, s.qos); });
}

async function start() {
  try {
    await refresh();
  } catch (e) {
    if (e.message !== "unauthorized") $("login-error").textContent = e.message;
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("whoami").textContent = who;
  $("logout").hidden = !auth;
  if (!timer) timer = setInterval(() => refresh().catch(() => {}), 2000);
}

$("login-form").onsubmit = async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  let r, data;
  try {
    r = await fetch("/api/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "mqgate-dashboard" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    data = await r.json();
  } catch (e) {
    $("login-error").textContent = "Sign-in failed: " + e.message;
    return;
  }
  if (!r.ok) {
    $("login-error").textContent = r.status === 401 ? "Wrong username or password." : (data && data.message) || r.statusText;
    return;
  }
  $("password").value = "";
  signIn("Bearer " + data.token, data.username);
};

$("key-form").onsubmit = (ev) => {
  ev.preventDefault();
  const key = $("key").value.trim();
  $("key").value = "";
  let header;
  try { header = "Basic " + btoa(key); } catch (e) { $("login-error").textContent = "An API key is NAME:SECRET."; return; }
  signIn(header, key.split(":")[0]);
};

$("logout").onclick = async () => {
  if (auth.startsWith("Bearer ")) {
    // Revoke the token on the server; the tab forgets it either way.
    try {
      await fetch("/api/v1/logout", { method: "POST", headers: { Authorization: auth, "X-Requested-With": "mqgate-dashboard" } });
    } catch (e) { /* signed out locally */ }
  }
  signedOut("Signed out.");
};

$("pub-send").onclick = async () => {
  const body = { topic: $("pub-topic").value, payload: $("pub-payload").value, qos: Number($("pub-qos").value), retain: $("pub-retain").checked };
  try {
    const r = await api("POST", "/api/v1/publish", body);
    $("pub-result").textContent = "published " + r.id + " to " + r.matched + " subscriber(s)";
  } catch (e) {
    $("pub-result").textContent = "refused: " + e.message;
  }
};

$("live-sub").onclick = async () => {
  const filter = $("live-filter").value;
  if (!filter) return;
  if (live) live.close();
  const s = await api("GET", "/api/v1/status");
  const ws = s.listeners.find((l) => l.protocol === "mqtt" && (l.type === "ws" || l.type === "wss"));
  if (!ws) { $("live-status").textContent = "no MQTT over WebSocket listener"; return; }
  const port = ws.address.slice(ws.address.lastIndexOf(":") + 1);
  const url = (ws.type === "wss" ? "wss://" : "ws://") + location.hostname + ":" + port + (ws.path || "/mqtt");
  $("live-status").textContent = "connecting";
  live = new MiniMQTT(url, {
    clientId: "dashboard-" + Math.random().toString(36).slice(2, 10),
    username: $("live-user").value, password: $("live-pass").value,
    onState: (st) => {
      $("live-status").textContent = st;
      if (st === "connected") live.subscribe(filter);
    },
    onMessage: (topic, payload) => {
      const li = document.createElement("li");
      li.textContent = topic + ": " + payload;
      $("live-messages").prepend(li);
    },
  });
};

if (auth) start(); else api("GET", "/api/v1/status").then(() => start()).catch(() => showLogin());
