// The jobs page: the silo's own HTTP API (/v1/jobs, /v1/jobs/{id}/events, /v1/cluster), no build step and no library.
// The event streams are read with fetch, not EventSource, so that they can carry the cluster's bearer token.
"use strict";

const jobs = new Map();     // id -> latest status
const streams = new Map();  // id -> AbortController of its event stream
const final = new Set(["Completed", "Failed", "Cancelled", "Rejected"]);
let token = sessionStorage.getItem("ringattn-token") || "";

function headers() {
  return token ? { Authorization: "Bearer " + token } : {};
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
  if (response.status === 401) {
    askForToken(token ? "the cluster refused that token" : "");
    throw new Error("unauthorized");
  }
  if (!response.ok) {
    throw new Error(path + ": HTTP " + response.status);
  }
  return response;
}

function askForToken(message) {
  document.getElementById("token-form").hidden = false;
  document.getElementById("token-error").textContent = message;
  setConnection("needs the cluster token", true);
}

function setConnection(text, bad) {
  const element = document.getElementById("connection");
  element.textContent = text;
  element.className = bad ? "error" : "muted";
}

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") element.className = value;
    else if (name.startsWith("data-")) element.setAttribute(name, value);
    else element[name] = value;
  }
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function bar(fraction, done) {
  const fill = el("span");
  fill.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + "%";
  return el("div", { class: done ? "bar done" : "bar" }, fill);
}

const seconds = s => s >= 100 ? s.toFixed(0) + " s" : s.toFixed(2) + " s";
const bytes = b => b == null ? "—" : b >= 2 ** 30 ? (b / 2 ** 30).toFixed(1) + " GiB" : (b / 2 ** 20).toFixed(0) + " MiB";
const count = n => Math.round(n).toLocaleString("en-US");

function jobRows(status) {
  const done = status.state === "Completed";
  const totals = status.totals || {};
  const retries = status.attempts > 1 ? status.attempts + " (" + (status.note || "retried") + ")" : String(status.attempts || 0);
  const row = el("tr", { "data-job": status.jobId, "data-state": status.state, "data-steps": status.stepsDone + "/" + status.stepsTotal },
    el("td", { class: "id" }, status.jobId),
    el("td", { class: "state state-" + status.state, title: status.error || "" }, status.state + (status.error ? ": " + status.error : "")),
    el("td", {}, bar(status.stepsTotal ? status.stepsDone / status.stepsTotal : 0, done),
      el("span", { class: "muted" }, " " + status.stepsDone + " / " + status.stepsTotal + " steps")),
    el("td", { class: "num" }, status.shardsDone + " / " + status.shards),
    el("td", { class: "num" }, count(status.tokens)),
    el("td", { class: "num" }, seconds(status.elapsedSeconds || 0)),
    el("td", { class: "num" }, count(status.tokensPerSecond || 0)),
    el("td", { class: "num" }, seconds(totals.computeSeconds || 0) + " / " + seconds(totals.waitSeconds || 0)),
    el("td", {}, retries),
    el("td", {}, final.has(status.state) ? "" : el("button", { type: "button", onclick: () => cancel(status.jobId) }, "cancel")));
  const shards = status.shardDetails || [];
  if (shards.length === 0) return [row];
  const grid = el("div", { class: "shard-grid" },
    el("b", {}, "shard"), el("b", {}, "ring steps"), el("b", {}, "steps"), el("b", {}, "compute"), el("b", {}, "wait"), el("b", {}, "silo"));
  for (const shard of shards) {
    grid.append(
      el("span", { "data-shard": shard.index }, "#" + shard.index),
      bar(status.shards ? shard.stepsDone / status.shards : 0, shard.done),
      el("span", {}, shard.stepsDone + " / " + status.shards),
      el("span", {}, seconds(shard.computeSeconds || 0)),
      el("span", {}, seconds(shard.waitSeconds || 0)),
      el("span", { class: "muted" }, shard.silo || "—"));
  }
  return [row, el("tr", { class: "shards" }, el("td", { colSpan: 10 }, grid))];
}

function render() {
  const body = document.querySelector("#jobs tbody");
  const ordered = [...jobs.values()].sort((a, b) => (b.startedAtTicks || 0) - (a.startedAtTicks || 0) || a.jobId.localeCompare(b.jobId));
  body.replaceChildren(...ordered.flatMap(jobRows));
  document.getElementById("no-jobs").hidden = ordered.length > 0;
}

function update(status) {
  jobs.set(status.jobId, status);
  render();
  if (!final.has(status.state) && !streams.has(status.jobId)) follow(status.jobId);
}

// One event stream per unfinished job: "event: status" with the status as data, until the job ends.
async function follow(id) {
  const controller = new AbortController();
  streams.set(id, controller);
  try {
    const response = await api("/v1/jobs/" + encodeURIComponent(id) + "/events", { signal: controller.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter(line => line.startsWith("data: ")).map(line => line.slice(6)).join("\n");
        if (data) {
          jobs.set(id, JSON.parse(data));
          render();
        }
      }
    }
  } catch (error) {
    if (error.message !== "unauthorized") setConnection("event stream of " + id + " broke: " + error.message, true);
  } finally {
    streams.delete(id);
  }
}

async function cancel(id) {
  try {
    update(await (await api("/v1/jobs/" + encodeURIComponent(id), { method: "DELETE" })).json());
  } catch (error) {
    setConnection("cancel failed: " + error.message, true);
  }
}

async function refreshJobs() {
  const list = await (await api("/v1/jobs?limit=50")).json();
  for (const status of list) {
    const known = jobs.get(status.jobId);
    if (!known || !final.has(known.state)) update(status);
  }
  setConnection("live · " + new Date().toLocaleTimeString("en-GB"), false);
}

async function refreshSilos() {
  const cluster = await (await api("/v1/cluster")).json();
  const body = document.querySelector("#silos tbody");
  body.replaceChildren(...cluster.silos.map(silo => el("tr", { "data-silo": silo.address },
    el("td", { class: "id" }, silo.address),
    el("td", {}, silo.devices.map(d => d.name + (d.hardware && d.hardware !== d.name ? " (" + d.hardware + ")" : "") + (d.memoryBytes != null ? ", " + bytes(d.memoryBytes) : "")).join("; ") || "—"),
    el("td", { class: "num" }, bytes(silo.memoryUsedBytes)),
    el("td", { class: "num" }, bytes(silo.memoryAvailableBytes)),
    el("td", { class: "num" }, (silo.cpuPercent || 0).toFixed(0) + " %"),
    el("td", { class: "num" }, silo.activations))));
}

async function tick() {
  try {
    await refreshJobs();
    await refreshSilos();
  } catch (error) {
    if (error.message !== "unauthorized") setConnection("cannot reach the silo: " + error.message, true);
  }
}

document.getElementById("token-form").addEventListener("submit", event => {
  event.preventDefault();
  token = document.getElementById("token").value.trim();
  sessionStorage.setItem("ringattn-token", token);
  document.getElementById("token-form").hidden = true;
  tick();
});

tick();
setInterval(tick, 1000);
