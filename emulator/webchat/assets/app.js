// The web sandbox's page: one event stream in, plain fetch calls out. No framework and no
// build step; everything the bot says is shown as text (textContent), never as HTML.
"use strict";

const state = { users: [], chats: [], items: new Map(), user: 0, chat: 0, maxText: 4096 };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function showError(msg) {
  const box = $("error");
  box.textContent = msg;
  box.hidden = !msg;
}

async function post(path, body) {
  let resp;
  try {
    resp = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    showError("The sandbox cannot be reached: " + e.message);
    return null;
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    showError(data.error || ("The sandbox answered " + resp.status + "."));
    return null;
  }
  showError("");
  return data;
}

// --- the chats ----------------------------------------------------------------------

function chatItems(chat) {
  if (!state.items.has(chat)) state.items.set(chat, []);
  return state.items.get(chat);
}

function renderSidebar() {
  const users = $("users");
  users.replaceChildren();
  for (const u of state.users) {
    const b = el("button", u === state.user ? "on" : "", "User " + u);
    b.dataset.user = u;
    b.onclick = () => { state.user = u; if (state.chat > 0) state.chat = u; renderAll(); };
    users.append(b);
  }
  const chats = $("chats");
  chats.replaceChildren();
  for (const c of state.chats) {
    if (!c.group && c.id !== state.user) continue;
    const b = el("button", c.id === state.chat ? "on" : "", c.group ? c.title : "Private chat with the bot");
    b.dataset.chat = c.id;
    b.onclick = () => { state.chat = c.id; renderAll(); };
    chats.append(b);
  }
}

function renderItem(it) {
  const m = el("div", "msg " + it.kind);
  m.dataset.id = it.message_id;
  m.dataset.kind = it.kind;
  if (it.kind === "user" && it.chat < 0) m.append(el("div", "who", "User " + it.from));
  if (it.photo) {
    const img = el("img", "photo");
    img.src = it.photo;
    img.alt = "photo " + it.width + "×" + it.height;
    img.width = it.width;
    img.height = it.height;
    m.append(img);
  }
  if (it.text) m.append(el("span", "text", it.text));
  if (it.edited) m.append(el("span", "edited", "edited"));
  if (it.buttons && it.buttons.length) {
    const kb = el("div", "kb");
    for (const row of it.buttons) {
      const r = el("div", "row");
      for (const btn of row) {
        const b = el("button", "", btn.text);
        if (btn.url) {
          // Only web links: a javascript: URL from the bot must not run in this page.
          b.onclick = () => { if (/^https?:\/\//i.test(btn.url)) window.open(btn.url, "_blank", "noopener"); };
        } else {
          b.dataset.data = btn.data;
          b.onclick = () => post("/api/press", { user: state.user, chat: it.chat, message_id: it.message_id, data: btn.data });
        }
        r.append(b);
      }
      kb.append(r);
    }
    m.append(kb);
  }
  return m;
}

function renderMessages() {
  const box = $("messages");
  box.replaceChildren(...chatItems(state.chat).map(renderItem));
  box.scrollTop = box.scrollHeight;
  const c = state.chats.find((c) => c.id === state.chat);
  $("chat-title").textContent = c ? (c.group ? c.title : "Bot · you are User " + state.user) : "";
}

function renderAll() {
  renderSidebar();
  renderMessages();
}

function addItem(it) {
  chatItems(it.chat).push(it);
  if (it.chat === state.chat) {
    const box = $("messages");
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.append(renderItem(it));
    if (atEnd || it.kind === "user") box.scrollTop = box.scrollHeight;
  }
}

function editItem(it) {
  const list = chatItems(it.chat);
  const i = list.findIndex((x) => x.kind === "bot" && x.message_id === it.message_id);
  if (i >= 0) list[i] = it;
  if (it.chat === state.chat) {
    const old = $("messages").querySelector('.msg.bot[data-id="' + it.message_id + '"]');
    if (old) old.replaceWith(renderItem(it));
  }
}

function toast(t) {
  const box = el("div", "toast", t.text);
  $("toasts").append(box);
  setTimeout(() => box.remove(), 4000);
}

// --- the operator's view ------------------------------------------------------------

function showFigures(f) {
  for (const [k, v] of Object.entries(f)) {
    const td = $("fig-" + k);
    if (td) td.textContent = k.endsWith("_ms") ? v.toFixed(1) + " ms" : String(v);
  }
}

function showThroughput(version) {
  $("throughput").src = "/api/throughput.png?v=" + version;
}

function showLoad(l) {
  $("load-run").disabled = l.running;
  if (!l.runs) return;
  let s = (l.running ? "running: " : "run " + l.runs + " done in " + l.elapsed_s.toFixed(1) + " s: ") +
    l.users + " users × " + l.messages + " messages\n" +
    "sent " + l.sent + " · answered " + l.answered + " · wrong " + l.wrong + " · lost " + l.lost + "\n" +
    l.per_sec.toFixed(0) + " replies/s · p50 " + l.p50_ms.toFixed(1) + " ms · p99 " + l.p99_ms.toFixed(1) + " ms";
  if (!l.running) s += (l.wrong || l.lost) ? "\naudit FAILED" : "\naudit passed: every reply named its message";
  $("load-status").textContent = s;
  $("load-status").dataset.running = l.running;
  $("load-status").dataset.answered = l.answered;
}

// --- the stream ---------------------------------------------------------------------

let stream = null; // the page's EventSource; null while it has none

function connect() {
  const es = new EventSource("/api/events");
  stream = es;
  es.addEventListener("hello", (e) => {
    const h = JSON.parse(e.data);
    state.users = h.users;
    state.chats = h.chats;
    state.maxText = h.max_text;
    state.items = new Map();
    for (const it of h.items) chatItems(it.chat).push(it);
    if (!state.users.includes(state.user)) state.user = state.users[0];
    if (!state.chat || (state.chat > 0 && state.chat !== state.user)) state.chat = state.user;
    $("crash").hidden = !h.chaos;
    $("conn").textContent = "live";
    if (h.figures) showFigures(h.figures);
    showThroughput(h.throughput);
    showLoad(h.load);
    renderAll();
    document.body.dataset.ready = "true";
  });
  es.addEventListener("item", (e) => addItem(JSON.parse(e.data)));
  es.addEventListener("edit", (e) => editItem(JSON.parse(e.data)));
  es.addEventListener("toast", (e) => toast(JSON.parse(e.data)));
  es.addEventListener("status", (e) => showFigures(JSON.parse(e.data)));
  es.addEventListener("throughput", (e) => showThroughput(JSON.parse(e.data).version));
  es.addEventListener("load", (e) => showLoad(JSON.parse(e.data)));
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // A refusal (too many pages open) or the sandbox gone: EventSource does not retry.
      if (stream === es) stream = null; // coming back to the tab tries again
      $("conn").textContent = "not live: the sandbox refused or stopped; close other tabs and reload";
    } else {
      $("conn").textContent = "reconnecting…";
    }
  };
}

// Telegram's clients trim what is sent; so does the page (an Enter typed by a script can
// leave its newline behind in the box).
async function sendText(text) {
  text = text.trim();
  if (!text) return;
  await post("/api/send", { user: state.user, chat: state.chat, text: text });
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("input");
  const text = input.value;
  input.value = "";
  sendText(text);
});
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
$("crash").addEventListener("click", () => sendText("panic"));
$("load-run").addEventListener("click", () => post("/api/loadtest", {}));
connect();

// A browser opens at most 6 connections to one site, and each tab's stream holds one: a
// seventh tab of the sandbox would wait for a connection and never load. So a tab left in
// the background gives its stream back after a while, and takes a new one (with the whole
// chat again) when it is looked at.
let backgrounded = null;
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    backgrounded = setTimeout(() => {
      if (stream) {
        stream.close();
        stream = null;
        $("conn").textContent = "paused in the background";
      }
    }, 10000);
    return;
  }
  clearTimeout(backgrounded);
  if (!stream) connect();
});
