// freeaction play: keys -> websocket -> frames of every panel. The server does all the work.
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY = 64;  // frames per panel kept for the browser tests (window.playState.history)
const state = { hello: null, keys: new Set(), grip: 0, seq: 0, sent: "", counts: {}, history: {}, paused: false,
  startSeed: null };
window.playState = state;  // read by the browser tests

const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
const send = (msg) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); };

const SETTINGS = ["method_a", "method_b", "sampler", "steps", "lam", "cutoff", "tau_min", "tau_max", "speed", "fps", "seed"];
const PANEL_TITLES = { A: "world model A", B: "world model B", sim: "simulator" };

function notice(text) { $("notice").textContent = text || ""; }
function error(text) { $("error").textContent = text || ""; }

function fillSelect(select, values) {
  select.innerHTML = "";
  for (const v of values) {
    const o = document.createElement("option");
    o.value = o.textContent = v;
    select.appendChild(o);
  }
}

function showSettings(settings) {
  for (const k of SETTINGS) {
    const el = $(k);
    if (el && document.activeElement !== el) el.value = settings[k];
  }
  document.querySelector('output[for="speed"]').textContent = settings.speed;
}

function buildPanels(panels, hasSim) {
  const box = $("panels");
  box.innerHTML = "";
  const ids = [...Object.keys(panels), ...(hasSim ? ["sim"] : [])];
  for (const pid of ids) {
    const fig = document.createElement("figure");
    fig.className = "panel";
    fig.id = `panel-${pid}`;
    const title = pid === "sim" ? PANEL_TITLES.sim : `${PANEL_TITLES[pid]}: ${panels[pid]}`;
    fig.innerHTML = `<figcaption>${title}</figcaption><img alt="${title}" width="224" height="224">` +
      `<div class="figures">frame <span class="t">0</span> <span class="maw"></span></div>`;
    box.appendChild(fig);
    state.counts[pid] = 0;
    state.history[pid] = [];
  }
}

function onHello(msg) {
  state.hello = msg;
  $("model").textContent = `${msg.model} (${msg.action_dim}-D actions, ${msg.precision}, chunks of ${msg.chunk})`;
  fillSelect($("method_a"), msg.methods);
  fillSelect($("method_b"), [...msg.methods, msg.off]);
  fillSelect($("sampler"), msg.samplers);
  showSettings(msg.settings);
  $("help").textContent = msg.action_dim === 7
    ? "Steer: arrows or W/A/S/D move the gripper in x/y, Q/E down/up, G opens/closes the gripper."
    : "Steer: arrows or W/A/S/D push the disc; the speed slider sets the step length.";
}

function onStart(msg) {
  buildPanels(msg.panels, msg.simulator);
  for (const [pid, url] of Object.entries(msg.frames)) {
    const img = document.querySelector(`#panel-${pid} img`);
    if (img) img.src = url;
    state.history[pid] = [{ t: 0, key_seq: 0, src: url }];
  }
  state.startSeed = msg.seed;
  if (msg.seed !== null && msg.seed !== undefined) $("scene-seed").value = msg.seed;
  showSettings(msg.settings);
  notice(msg.notice);
  error("");
}

function fmt(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(2); }

function onFrame(msg) {
  for (const [pid, url] of Object.entries(msg.frames)) {
    const fig = $(`panel-${pid}`);
    if (!fig) continue;
    fig.querySelector("img").src = url;
    fig.querySelector(".t").textContent = msg.t;
    const f = msg.info[pid];
    if (f) fig.querySelector(".maw").textContent = `m(a) ${fmt(f.m)}  w ${fmt(f.w)}  tau ${fmt(f.tau)}`;
    state.counts[pid] = (state.counts[pid] || 0) + 1;
    const h = state.history[pid];
    h.push({ t: msg.t, key_seq: msg.key_seq, src: url });
    if (h.length > HISTORY) h.shift();
  }
  state.lastFrame = { t: msg.t, keys: msg.keys, key_seq: msg.key_seq, at: performance.now() };
  $("stats").textContent = `chunk generated in ${msg.generate_s} s; stale chunks dropped ${msg.dropped}; ` +
    `recorded ${msg.recorded}/${msg.max_frames} frames`;
  $("status").textContent = state.paused ? "paused" : "live";
}

ws.onmessage = (event) => {
  const msg = JSON.parse(event.data);
  if (msg.type === "hello") onHello(msg);
  else if (msg.type === "start") onStart(msg);
  else if (msg.type === "frame") onFrame(msg);
  else if (msg.type === "settings") showSettings(msg.settings);
  else if (msg.type === "notice") notice(msg.message);
  else if (msg.type === "error") error(msg.message);
  else if (msg.type === "saved") notice(`saved ${msg.frames} frames to ${msg.folder}`);
};
ws.onopen = () => { $("status").textContent = "connected"; };
ws.onclose = () => { $("status").textContent = "disconnected (reload to start again)"; };

// -- keys ------------------------------------------------------------------------------------
const MOVES = {
  ArrowLeft: [-1, 0, 0], a: [-1, 0, 0], ArrowRight: [1, 0, 0], d: [1, 0, 0],
  ArrowUp: [0, -1, 0], w: [0, -1, 0], ArrowDown: [0, 1, 0], s: [0, 1, 0],
  q: [0, 0, -1], e: [0, 0, 1],
};
const keyName = (ev) => (ev.key.length === 1 ? ev.key.toLowerCase() : ev.key);

function sendKeys() {
  const v = [0, 0, 0];
  for (const k of state.keys) MOVES[k].forEach((x, i) => { v[i] += x; });
  const keys = state.hello && state.hello.action_dim === 7 ? [v[0], v[1], v[2], state.grip] : [v[0], v[1]];
  const text = JSON.stringify(keys);
  if (text === state.sent) return;  // coalesce: only changes are sent
  state.sent = text;
  state.seq += 1;
  state.keySentAt = performance.now();
  send({ type: "keys", keys, seq: state.seq });
}

function typing(ev) { return ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement; }

window.addEventListener("keydown", (ev) => {
  if (typing(ev)) return;
  const k = keyName(ev);
  if (k === "g") { if (!ev.repeat) { state.grip = 1 - state.grip; sendKeys(); } ev.preventDefault(); return; }
  if (!(k in MOVES)) return;
  state.keys.add(k);
  sendKeys();
  ev.preventDefault();
});
window.addEventListener("keyup", (ev) => {
  const k = keyName(ev);
  if (!(k in MOVES)) return;
  state.keys.delete(k);
  sendKeys();
});
window.addEventListener("blur", () => { state.keys.clear(); sendKeys(); });

// -- controls --------------------------------------------------------------------------------
for (const k of SETTINGS) {
  $(k).addEventListener("change", (ev) => {
    const el = ev.target;
    const value = el.tagName === "SELECT" ? el.value : Number(el.value);
    send({ type: "settings", settings: { [k]: value } });
  });
}
$("speed").addEventListener("input", (ev) => { document.querySelector('output[for="speed"]').textContent = ev.target.value; });
$("pause").addEventListener("click", () => {
  state.paused = !state.paused;
  $("pause").textContent = state.paused ? "resume" : "pause";
  $("status").textContent = state.paused ? "paused" : "live";
  send({ type: "pause", paused: state.paused });
});
$("reset").addEventListener("click", () => send({ type: "reset" }));
$("save").addEventListener("click", () => send({ type: "save" }));
$("new-scene").addEventListener("click", () => {
  // a seed typed into the field is used; otherwise (the field shows the current scene's) a random one
  const typed = $("scene-seed").value === "" ? null : Number($("scene-seed").value);
  send({ type: "new_scene", seed: typed === state.startSeed ? null : typed });
});
$("upload").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => send({ type: "upload", name: file.name, data: reader.result });
  reader.readAsDataURL(file);
  ev.target.value = "";
});
