// minik dashboard: draws the views the server pushes over Server-Sent Events.
// Every judgement (status words, rollout progress, why a pod is Pending) is made on the
// server (dashboard/views.py); this file only keeps the views and draws them.
"use strict";

const state = { nodes: {}, pods: {}, workloads: {}, services: {}, events: {}, usage: {} };
let selected = null;   // the pod key whose details are open
let logStream = null;  // its log EventSource
let drawPending = false;
window.minikSeen = {}; // pod key -> when it was first drawn (ms since epoch): the benchmark reads it

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

function connect() {
  const source = new EventSource("/api/stream");
  source.onopen = () => setConnection("live", "live");
  source.onerror = () => setConnection("lost", "reconnecting…");
  source.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.op === "snapshot") {
      for (const kind of Object.keys(state)) state[kind] = m.views[kind] || {};
    } else if (m.op === "put") {
      state[m.kind][m.key] = m.view;
    } else if (m.op === "delete") {
      delete state[m.kind][m.key];
    }
    scheduleDraw();
  };
}

function setConnection(cls, text) {
  const el = $("connection");
  el.className = "conn " + cls;
  el.textContent = text;
}

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; draw(); }, 0);
}

// ---- helpers ---------------------------------------------------------------------
function ago(ts) {
  if (!ts) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.floor(s / 60) + "m";
  if (s < 172800) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}
const cpu = (m) => (m >= 1000 ? (m / 1000).toFixed(m % 1000 ? 1 : 0) : m + "m");
const mem = (b) => (b >= 1 << 30 ? (b / (1 << 30)).toFixed(1) + "Gi" : Math.round(b / (1 << 20)) + "Mi");
const pct = (a, b) => (b > 0 ? Math.min(100, (100 * a) / b) : 0);
function versionColour(v) {
  if (!v) return "transparent";
  let h = 0;
  for (const c of v) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `hsl(${h}, 65%, 45%)`;
}
const nsFilter = () => $("namespace").value;
const visible = (v) => !nsFilter() || v.namespace === nsFilter() || v.objectNamespace === nsFilter();
const byName = (a, b) => (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name);

// ---- drawing -----------------------------------------------------------------------
function draw() {
  drawNamespaces();
  drawNodes();
  drawWorkloads();
  drawServices();
  drawEvents();
  drawDetail();
  const pods = Object.values(state.pods);
  const nodes = Object.values(state.nodes);
  $("summary").textContent = `${nodes.filter((n) => n.ready).length}/${nodes.length} nodes ready · ` +
    `${pods.filter((p) => p.health === "ok").length}/${pods.length} pods running · ` +
    `${pods.filter((p) => p.pending && !p.node).length} waiting for a node`;
  const now = Date.now();
  for (const key of Object.keys(state.pods)) if (!(key in window.minikSeen)) window.minikSeen[key] = now;
}

function drawNamespaces() {
  const sel = $("namespace");
  const names = new Set(Object.values(state.pods).map((p) => p.namespace));
  for (const w of Object.values(state.workloads)) names.add(w.namespace);
  const have = new Set([...sel.options].map((o) => o.value));
  for (const n of [...names].sort()) if (!have.has(n)) sel.add(new Option(n, n));
}

function podChip(key, p) {
  // on the chip, the commonest reason; the whole explanation is in the pod's details
  const first = p.pending && (p.pending.reasons.length ? p.pending.reasons[0].text : p.pending.headline);
  const why = p.pending && !p.node ? `<span class="why">${esc(first)}</span>` : "";
  const restarts = p.restarts ? ` · ${p.restarts} restarts` : "";
  const nodeDown = p.node && state.nodes[p.node] && !state.nodes[p.node].ready;
  const notReady = p.notReady ? `<span class="why">not ready: ${nodeDown ? "its node is not ready" : esc(p.notReady)}</span>` : "";
  return `<div class="pod ${p.health}${key === selected ? " selected" : ""}" data-pod="${esc(key)}"
    style="border-left-color:${versionColour(p.version)}" title="${esc(p.namespace)}/${esc(p.name)}${p.version ? " · version " + esc(p.version) : ""}">
    <b>${esc(p.name)}</b>${esc(p.status)} · ${esc(p.ready)}${restarts} · ${ago(p.created)}${why}${notReady}</div>`;
}

function meters(node, pods) {
  const use = (state.usage.all && state.usage.all.nodes && state.usage.all.nodes[node.name]) || null;
  const reqCpu = pods.reduce((s, [, p]) => s + (p.health === "done" ? 0 : p.cpuRequest), 0);
  const reqMem = pods.reduce((s, [, p]) => s + (p.health === "done" ? 0 : p.memoryRequest), 0);
  const row = (label, req, used, total, fmt) => `<span>${label}</span>
    <div class="meter"><span class="req" style="width:${pct(req, total)}%"></span>
    ${used == null ? "" : `<span class="use" style="width:${pct(used, total)}%"></span>`}</div>
    <span>requested ${fmt(req)}${used == null ? "" : ` · using ${fmt(used)}`} of ${fmt(total)}</span>`;
  return `<div class="meters">${row("CPU", reqCpu, use && use.cpu, node.cpu, cpu)}${row("memory", reqMem, use && use.memory, node.memory, mem)}</div>`;
}

function drawNodes() {
  const byNode = {};
  for (const [key, p] of Object.entries(state.pods)) {
    (byNode[p.node || ""] ||= []).push([key, p]);
  }
  let html = "";
  const unplaced = (byNode[""] || []).filter(([, p]) => visible(p));
  if (unplaced.length) {
    html += `<div class="card" id="unscheduled"><h3>Not on a node yet <span class="badge warn">${unplaced.length} pending</span></h3>
      <div class="pods">${unplaced.sort((a, b) => byName(a[1], b[1])).map(([k, p]) => podChip(k, p)).join("")}</div></div>`;
  }
  for (const node of Object.values(state.nodes).sort((a, b) => a.name.localeCompare(b.name))) {
    const all = byNode[node.name] || [];
    const pods = all.filter(([, p]) => visible(p)).sort((a, b) => byName(a[1], b[1]));
    const badge = node.ready ? `<span class="badge">${esc(node.status)}</span>`
      : `<span class="badge bad">${esc(node.status)}</span>`;
    const down = node.ready ? "" : `<div class="alert">Not ready for ${ago(node.readySince)}: ${esc((node.readyMessage || "the node stopped reporting").replace(/\.+$/, ""))}.
      Its pods are evicted once their toleration of the unreachable/not-ready taint runs out.</div>`;
    const taints = node.taints.length ? `<span class="note">taints: ${node.taints.map(esc).join(", ")}</span>` : "";
    html += `<div class="card${node.ready ? "" : " notready"}" data-node="${esc(node.name)}"><h3>${esc(node.name)} ${badge}
      <span class="note">${all.length} pods</span> ${taints}</h3>${down}${meters(node, all)}
      <div class="pods">${pods.map(([k, p]) => podChip(k, p)).join("") || '<span class="note">no pods</span>'}</div></div>`;
  }
  if (!html) html = '<p class="note">No nodes yet.</p>';
  const usage = state.usage.all;
  if (usage && !usage.available) {
    html = `<p class="note">Resource use not shown: ${esc(usage.error)} (is the metrics server running?)</p>` + html;
  }
  $("nodes").innerHTML = html;
}

// The versions a workload's pods run, oldest first, with the colour their chips carry:
// what links the rollout bar to the pods moving between nodes.
function versionsOf(w) {
  const prefix = w.name + "-";
  const ownerKinds = { Deployment: "ReplicaSet", StatefulSet: "StatefulSet", DaemonSet: "DaemonSet" };
  const found = {};
  for (const p of Object.values(state.pods)) {
    if (p.namespace !== w.namespace || !p.owner || !p.version || p.health === "gone") continue;
    const mine = p.owner.kind === ownerKinds[w.kind] &&
      (w.kind === "Deployment" ? p.owner.name.startsWith(prefix) : p.owner.name === w.name);
    if (!mine) continue;
    const v = (found[p.version] ||= { version: p.version, pods: 0, since: p.created });
    v.pods += 1;
    if (p.created < v.since) v.since = p.created;
  }
  const list = Object.values(found).sort((a, b) => String(a.since).localeCompare(String(b.since)));
  if (list.length < 2) return "";
  return '<div class="note">versions: ' + list.map((v, i) =>
    `<span class="version" style="border-left-color:${versionColour(v.version)}">${esc(v.version)} · ${v.pods} pod${v.pods > 1 ? "s" : ""}${i === list.length - 1 ? " (newest)" : ""}</span>`).join(" ") + "</div>";
}

function drawWorkloads() {
  const rows = Object.values(state.workloads).filter(visible).sort((a, b) => byName(a, b));
  $("workloads").innerHTML = rows.map((w) => {
    const total = Math.max(w.desired, w.updated + w.old, 1);
    const seg = (cls, n, title) => (n > 0 ? `<span class="${cls}" style="width:${(100 * n) / total}%" title="${n} ${title}"></span>` : "");
    const badge = { complete: "", progressing: "warn", failed: "bad", paused: "muted" }[w.state];
    return `<div class="card workload ${w.state}" data-workload="${esc(w.kind + "/" + w.namespace + "/" + w.name)}">
      <h3>${esc(w.kind)} ${esc(w.namespace)}/${esc(w.name)} <span class="badge ${badge}">${esc(w.state)}</span>
      <span class="note">${w.kind === "Job" ? "" : `${w.available}/${w.desired} available`}</span></h3>
      <div class="bar">${seg("new", w.updated, w.kind === "Job" ? "completed" : "on the new version")}${seg("old", w.old, "on the old version")}</div>
      <div>${esc(w.text)}</div>${w.kind === "Job" ? "" : versionsOf(w)}</div>`;
  }).join("") || '<p class="note">No Deployments, StatefulSets, DaemonSets or Jobs.</p>';
}

function drawServices() {
  const rows = Object.values(state.services).filter(visible).sort(byName);
  $("services").innerHTML = rows.map((s) => {
    const eps = s.ready.map((e) => `<span class="ep" title="node ${esc(e.node)}">${esc(e.pod || e.ip)} ${esc(e.ip)}</span>`)
      .concat(s.notReady.map((e) => `<span class="ep notready" title="not ready: gets no traffic">${esc(e.pod || e.ip)} ${esc(e.ip)} (not ready)</span>`));
    const none = s.selector ? "no ready pod matches " + esc(s.selector) + ": connections fail" : "no selector: endpoints are set by hand";
    return `<div class="card" data-service="${esc(s.namespace + "/" + s.name)}"><h3>${esc(s.namespace)}/${esc(s.name)}
      <span class="note">${esc(s.type)} ${esc(s.clusterIP)} ${s.ports.map(esc).join(", ")}</span></h3>
      <div class="endpoints">${eps.join("") || `<span class="ep none">${none}</span>`}</div></div>`;
  }).join("") || '<p class="note">No Services.</p>';
}

function drawEvents() {
  const rows = Object.values(state.events).filter(visible)
    .sort((a, b) => String(b.time).localeCompare(String(a.time))).slice(0, 200);
  $("events").innerHTML = rows.map((e) => `<li class="${esc(e.type)}"><span class="meta">${ago(e.time)} ago · ${e.objectNamespace ? esc(e.objectNamespace) + "/" : ""}${esc(e.object)}${e.count > 1 ? ` · ×${e.count}` : ""}</span>
    <b>${esc(e.reason)}</b> ${esc(e.message)}</li>`).join("");
}

// ---- a pod's details and logs -------------------------------------------------------
function drawDetail() {
  const box = $("detail");
  const p = selected && state.pods[selected];
  if (!selected) { box.hidden = true; return; }
  box.hidden = false;
  if (!p) {
    $("detail-body").innerHTML = `<h3>${esc(selected)}</h3><p class="alert">This pod is gone (deleted).</p>`;
    return;
  }
  let why = "";
  if (p.pending) {
    const reasons = p.pending.reasons.map((r) => `<li>${esc(r.text)}</li>`).join("");
    why = `<div class="why"><b>Why is it Pending?</b> ${esc(p.pending.headline)}<ul>${reasons}</ul>
      ${p.pending.hint ? `<div>${esc(p.pending.hint)}</div>` : ""}
      ${p.pending.raw ? `<div class="raw">scheduler: ${esc(p.pending.raw)}</div>` : ""}</div>`;
  }
  const owner = p.owner ? `${esc(p.owner.kind)}/${esc(p.owner.name)}` : "none";
  const used = state.usage.all && state.usage.all.pods && state.usage.all.pods[selected];
  $("detail-body").innerHTML = `<h3>${esc(p.namespace)}/${esc(p.name)}</h3>${why}
    <dl><dt>status</dt><dd>${esc(p.status)} (phase ${esc(p.phase)}), ${esc(p.ready)} ready, ${p.restarts} restarts</dd>
    <dt>node</dt><dd>${esc(p.node || "none yet")}</dd><dt>IP</dt><dd>${esc(p.ip || "none yet")}</dd>
    <dt>owner</dt><dd>${owner}</dd><dt>version</dt><dd>${esc(p.version || "-")}</dd>
    <dt>requests</dt><dd>${cpu(p.cpuRequest)} CPU, ${mem(p.memoryRequest)} memory</dd>
    ${used ? `<dt>using</dt><dd>${cpu(used.cpu)} CPU, ${mem(used.memory)} memory</dd>` : ""}
    ${p.message ? `<dt>message</dt><dd>${esc(p.message)}</dd>` : ""}</dl>`;
  const head = $("logs-head");
  if (!head.dataset.for || head.dataset.for !== selected) {
    head.dataset.for = selected;
    head.innerHTML = "logs of " + p.containers.map((c, i) =>
      `<label><input type="radio" name="container" value="${esc(c)}"${i === 0 ? " checked" : ""}> ${esc(c)}</label>`).join(" ") + " (following)";
    head.onchange = () => followLogs();
    followLogs();
  } else if (p.node && !logStream && !$("logs").dataset.ended) {
    followLogs(); // it was not on a node yet when opened
  }
}

function followLogs() {
  if (logStream) { logStream.close(); logStream = null; }
  const out = $("logs");
  out.textContent = "";
  delete out.dataset.ended;
  const p = selected && state.pods[selected];
  if (!p || !p.node) { out.textContent = "(no logs until the pod runs on a node)"; return; }
  const checked = document.querySelector('input[name="container"]:checked');
  const [ns, name] = selected.split("/");
  const url = `/api/logs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` + (checked ? `?container=${encodeURIComponent(checked.value)}` : "");
  const stream = new EventSource(url);
  logStream = stream;
  const append = (text) => {
    const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 5;
    out.textContent += text + "\n";
    if (atBottom) out.scrollTop = out.scrollHeight;
  };
  stream.onmessage = (e) => append(JSON.parse(e.data));
  const stop = (e) => { append("— " + JSON.parse(e.data)); stream.close(); if (logStream === stream) logStream = null; out.dataset.ended = "1"; };
  stream.addEventListener("end", stop);
  stream.addEventListener("failure", stop);
  stream.onerror = () => { stream.close(); if (logStream === stream) logStream = null; out.dataset.ended = "1"; };
}

document.addEventListener("click", (e) => {
  const chip = e.target.closest("[data-pod]");
  if (chip) {
    selected = chip.dataset.pod;
    $("logs-head").dataset.for = "";
    draw();
  }
});
$("close-detail").onclick = () => {
  selected = null;
  if (logStream) { logStream.close(); logStream = null; }
  draw();
};
$("namespace").onchange = draw;
setInterval(draw, 5000); // ages tick locally; no request is made
connect();
