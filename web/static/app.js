// The page: finds the WebGPU adapter, loads a model into the wasm engine, streams generations and
// shows `check`'s table. Every engine call returns a Promise of JSON text or rejects with a message.
import init, { Engine } from "./pkg/wgpu_ds_web.js";

const $ = (id) => document.getElementById(id);
const N_CTX = 256;
const state = { engine: null, loaded: false, busy: false, stop: false };

function setBusy(busy) {
  state.busy = busy;
  const ready = state.engine !== null;
  $("load-btn").disabled = busy || !ready;
  $("file-input").disabled = busy || !ready;
  $("gen-btn").disabled = busy || !state.loaded;
  $("check-btn").disabled = busy || !state.loaded;
  $("stop-btn").disabled = !busy;
}

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 1)} MB`;
}

function fillKv(table, rows) {
  table.replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      const td = document.createElement("td");
      th.textContent = k;
      td.textContent = v;
      tr.append(th, td);
      return tr;
    }),
  );
  table.hidden = false;
}

function noWebGpu(why) {
  $("gpu-status").className = "error";
  $("gpu-status").textContent =
    `${why} This page needs WebGPU: Chrome and Edge 113+ have it on by default (on Linux, enable ` +
    `chrome://flags/#enable-unsafe-webgpu and Vulkan), Safari 26+ has it, Firefox has it in ` +
    `recent versions or with dom.webgpu.enabled in about:config.`;
  document.body.dataset.gpu = "none";
}

async function findAdapter() {
  if (!("gpu" in navigator)) {
    noWebGpu("This browser has no WebGPU (navigator.gpu is missing).");
    return;
  }
  try {
    await init();
    const engine = new Engine();
    const a = JSON.parse(await engine.adapter());
    state.engine = engine;
    $("gpu-status").hidden = true;
    $("gpu-info").hidden = false;
    $("gpu-name").textContent = a.name || "WebGPU adapter (the browser does not name it)";
    $("gpu-backend").textContent = `${a.backend} · ${a.device_type}${a.driver ? " · " + a.driver : ""}`;
    $("gpu-features").replaceChildren(
      ...Object.entries(a.features).map(([f, on]) => {
        const b = document.createElement("span");
        b.className = on ? "badge on" : "badge";
        b.textContent = `${on ? "✓" : "✗"} ${f}`;
        return b;
      }),
    );
    fillKv($("gpu-limits"), Object.entries(a.limits).map(([k, v]) => [k, v >= 1 << 20 ? `${v} (${mb(v)})` : `${v}`]));
    document.body.dataset.gpu = "ready";
  } catch (e) {
    noWebGpu(`No WebGPU adapter: ${e}.`);
  }
  setBusy(false);
}

async function listModels() {
  const sel = $("model-select");
  try {
    const models = await (await fetch("models/index.json")).json();
    for (const m of models) {
      const o = document.createElement("option");
      o.value = m.file;
      o.textContent = `${m.label} · ${mb(m.bytes)}`;
      o.dataset.bytes = m.bytes;
      sel.append(o);
    }
    sel.value = models.find((m) => m.label.startsWith("Q8_0"))?.file ?? models[0]?.file;
  } catch (e) {
    $("load-status").textContent = `The built-in models are missing (${e}); open a GGUF file instead.`;
  }
}

// Fetches `url` with a progress bar; resolves to its bytes.
async function fetchBytes(url, total) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const parts = [];
  let got = 0;
  const bar = $("load-progress");
  bar.hidden = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    bar.value = total ? got / total : 0;
    $("load-status").textContent = `Downloading ${mb(got)}${total ? " of " + mb(total) : ""}…`;
  }
  const out = new Uint8Array(got);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Loads `bytes` into the engine; `t0` is when fetching or reading them began.
async function load(bytes, name, t0) {
  setBusy(true);
  state.loaded = false;
  document.body.dataset.model = "loading";
  try {
    $("load-progress").value = 1;
    $("load-status").textContent = `Uploading ${name} to the GPU…`;
    const s = JSON.parse(await state.engine.load(bytes, name, N_CTX));
    const ms = performance.now() - t0;
    state.loaded = true;
    $("load-status").className = "ok";
    $("load-status").textContent =
      `Loaded ${name} in ${(ms / 1000).toFixed(2)} s (${s.load_ms.toFixed(0)} ms of it parsing and uploading).`;
    fillKv($("model-info"), [
      ["name", s.name || name],
      ["file", mb(s.file_bytes)],
      ["weights", s.types.join(", ")],
      ["shape", `${s.n_layer} layers · hidden ${s.n_embd} · ${s.n_head} heads · ${s.n_expert} experts, top-${s.n_expert_used}`],
      ["vocabulary", `${s.n_vocab}${s.tokenizer ? "" : " (no tokenizer)"}`],
      ["context", `${s.n_ctx} positions, ${s.cache_type} latent cache`],
    ]);
    document.body.dataset.model = name;
  } catch (e) {
    $("load-status").className = "error";
    $("load-status").textContent = `Could not load ${name}: ${e}`;
    document.body.dataset.model = "error";
  } finally {
    $("load-progress").hidden = true;
    setBusy(false);
  }
}

async function loadBuiltIn() {
  const opt = $("model-select").selectedOptions[0];
  if (!opt) return;
  setBusy(true);
  const t0 = performance.now();
  try {
    const bytes = await fetchBytes(`models/${opt.value}`, Number(opt.dataset.bytes));
    await load(bytes, opt.value, t0);
  } catch (e) {
    $("load-status").className = "error";
    $("load-status").textContent = `${e}`;
    setBusy(false);
  }
}

async function loadFile(file) {
  if (file.size > 2 ** 31) {
    $("load-status").className = "error";
    $("load-status").textContent =
      `${file.name} is ${mb(file.size)}: a WebAssembly page holds at most 2 GiB; use the native wgpu-ds for this file.`;
    return;
  }
  const t0 = performance.now();
  await load(new Uint8Array(await file.arrayBuffer()), file.name, t0);
}

function settings() {
  const num = (id) => Number($(id).value);
  return {
    n_predict: num("n-predict"),
    temperature: num("temperature"),
    top_k: num("top-k"),
    top_p: num("top-p"),
    seed: num("seed"),
  };
}

async function generate() {
  setBusy(true);
  state.stop = false;
  const out = $("output");
  out.textContent = "";
  out.className = "";
  $("gen-stats").textContent = "Running…";
  document.body.dataset.generation = "running";
  try {
    const stats = JSON.parse(
      await state.engine.generate($("prompt").value, JSON.stringify(settings()), (text) => {
        out.textContent += text;
        return !state.stop;
      }),
    );
    $("gen-stats").textContent =
      `prompt ${stats.prompt_tokens} tokens: ${stats.prefill_tok_s.toFixed(1)} tok/s · ` +
      `${stats.generated} generated: ${stats.decode_tok_s.toFixed(1)} tok/s` +
      (state.stop ? " · stopped" : "");
    state.lastStats = stats;
    document.body.dataset.generation = "done";
  } catch (e) {
    out.className = "error";
    out.textContent = `${e}`;
    $("gen-stats").textContent = "";
    document.body.dataset.generation = "error";
  } finally {
    setBusy(false);
  }
}

function fmt(x) {
  return x === 0 ? "0" : x.toExponential(2);
}

function checkTable(tier) {
  const wrap = document.createElement("div");
  const h = document.createElement("h3");
  h.textContent = `${tier.label} · ${tier.nodes} nodes, ${tier.failed} failed (NMSE ≤ ${fmt(tier.tier)})`;
  const table = document.createElement("table");
  table.className = "check";
  const head = document.createElement("tr");
  for (const c of ["op (weight type)", "nodes", "fail", "worst NMSE", "max |err|"]) {
    const th = document.createElement("th");
    th.textContent = c;
    head.append(th);
  }
  table.append(head);
  for (const r of tier.rows) {
    const tr = document.createElement("tr");
    if (r.fail) tr.className = "bad";
    for (const v of [r.kind, r.nodes, r.fail, fmt(r.nmse), fmt(r.max_abs)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    table.append(tr);
  }
  wrap.append(h, table);
  return wrap;
}

async function check() {
  setBusy(true);
  $("check-summary").className = "muted";
  $("check-summary").textContent = "Running the step on WebGPU and on the CPU reference…";
  $("check-tables").replaceChildren();
  document.body.dataset.check = "running";
  try {
    const r = JSON.parse(await state.engine.check($("prompt").value));
    $("check-tables").replaceChildren(...r.tiers.map(checkTable));
    const nodes = r.tiers.reduce((n, t) => n + t.nodes, 0);
    const bad = r.tiers.map((t) => t.first_failure).find((f) => f);
    const s = $("check-summary");
    const ties = r.tiers.flatMap((t) => t.near_ties);
    if (r.ok) {
      s.className = "ok";
      s.textContent = ties.length
        ? `All ${nodes} nodes agree (${r.tokens} tokens; routing ids identical after following the GPU at ${ties.length} near-tied expert choice(s): ${ties.map((t) => t.name).join("; ")}).`
        : `All ${nodes} nodes agree (${r.tokens} tokens; routing ids identical).`;
    } else {
      s.className = "error";
      s.textContent = `First diverging node '${bad.name}' (${bad.kind}): NMSE ${fmt(bad.nmse)}, max |err| ${fmt(bad.max_abs)}.`;
    }
    document.body.dataset.check = r.ok ? "ok" : "failed";
  } catch (e) {
    $("check-summary").className = "error";
    $("check-summary").textContent = `${e}`;
    document.body.dataset.check = "error";
  } finally {
    setBusy(false);
  }
}

function updateSamplingSummary() {
  const s = settings();
  $("sampling-summary").textContent =
    s.temperature > 0 ? `temperature ${s.temperature}, top-k ${s.top_k}, top-p ${s.top_p}, seed ${s.seed}` : "greedy";
}

$("load-btn").addEventListener("click", loadBuiltIn);
$("file-input").addEventListener("change", (e) => e.target.files[0] && loadFile(e.target.files[0]));
$("gen-btn").addEventListener("click", generate);
$("stop-btn").addEventListener("click", () => (state.stop = true));
$("check-btn").addEventListener("click", check);
$("prompt").addEventListener("keydown", (e) => e.key === "Enter" && !$("gen-btn").disabled && generate());
for (const c of document.querySelectorAll(".chip")) {
  c.addEventListener("click", () => ($("prompt").value = c.dataset.prompt));
}
for (const id of ["temperature", "top-k", "top-p", "seed"]) $(id).addEventListener("input", updateSamplingSummary);

setBusy(false);
await Promise.all([listModels(), findAdapter()]);
