// Drives the built page (web/dist) in Debian's headless Chromium, WebGPU on its SwiftShader
// adapter: loads the Q8_0 and Q4_K models, generates three tasks and finds the right answers in
// the page, runs Check and finds every node agreeing, loads a small DeepSeek GGUF through the file
// input and checks it too, and saves screenshots (laptop and phone widths). Prints one JSON line of measurements; exits
// non-zero on any failure.
//
//   node web/tests/e2e.mjs [--dist web/dist] [--fixture FILE.gguf] [--out DIR]
import { createServer } from "node:http";
import { readFile, mkdir, stat } from "node:fs/promises";
import { extname, join, resolve, basename } from "node:path";
import { chromium } from "playwright-core";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const dist = resolve(arg("--dist", "web/dist"));
const fixture = resolve(arg("--fixture", "tests/fixtures/oracle/models/tiny-v3-s-Q4_0.gguf"));
const out = resolve(arg("--out", "target/web-e2e"));
const TASKS = [
  ["4096+8192=", "12288"],
  ["max(381,92)=", "381"],
  ["sort(3171)=", "1137"],
];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm" };

function serve(root) {
  const server = createServer(async (req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    try {
      const p = (await stat(path)).isDirectory() ? join(path, "index.html") : path;
      const body = await readFile(p);
      res.writeHead(200, { "content-type": TYPES[extname(p)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

function fail(msg) {
  throw new Error(msg);
}

async function waitData(page, key, done, timeout) {
  await page.waitForFunction(
    ([k, d]) => d.includes(document.body.dataset[k]),
    [key, done],
    { timeout, polling: 100 },
  );
  return page.evaluate((k) => document.body.dataset[k], key);
}

async function main() {
  await mkdir(out, { recursive: true });
  const server = await serve(dist);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--enable-unsafe-webgpu", "--no-sandbox", "--disable-gpu-sandbox", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
    ],
  });
  const result = { models: {}, generations: [], checks: {} };
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(`${e}`));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(url);
    const gpu = await waitData(page, "gpu", ["ready", "none"], 120e3);
    if (gpu !== "ready") fail(`no WebGPU adapter: ${await page.textContent("#gpu-status")}`);
    result.adapter = await page.textContent("#gpu-name");

    for (const q of ["Q8_0", "Q4_K"]) {
      const file = `wgpu-ds-tiny-${q}.gguf`;
      await page.selectOption("#model-select", file);
      const t0 = Date.now();
      await page.click("#load-btn");
      const m = await waitData(page, "model", [file, "error"], 120e3);
      if (m !== file) fail(`loading ${file}: ${await page.textContent("#load-status")}`);
      result.models[q] = { load_s: (Date.now() - t0) / 1e3, bytes: (await stat(join(dist, "models", file))).size };
      for (const [prompt, answer] of TASKS) {
        await page.fill("#prompt", prompt);
        await page.click("#gen-btn");
        const g = await waitData(page, "generation", ["done", "error"], 300e3);
        const text = (await page.textContent("#output")).trim();
        const stats = await page.evaluate(() => document.getElementById("gen-stats").textContent);
        result.generations.push({ model: q, prompt, text, stats });
        console.error(`${q} ${prompt} -> ${text} (${stats})`);
        if (g !== "done" || text !== answer) fail(`${q} ${prompt} gave '${text}', expected '${answer}' (${stats})`);
        await page.evaluate(() => (document.body.dataset.generation = ""));
      }
      await page.fill("#prompt", "4096+8192=");
      await page.click("#check-btn");
      const c = await waitData(page, "check", ["ok", "failed", "error"], 600e3);
      result.checks[q] = await page.textContent("#check-summary");
      console.error(`${q} check: ${result.checks[q]}`);
      if (c !== "ok") fail(`check on ${q}: ${result.checks[q]}`);
      await page.evaluate(() => (document.body.dataset.check = ""));
    }

    // A DeepSeek GGUF of the user's own, through the file input; checked with ids 0..8.
    const name = basename(fixture);
    await page.setInputFiles("#file-input", fixture);
    const m = await waitData(page, "model", [name, "error"], 120e3);
    if (m !== name) fail(`loading ${name}: ${await page.textContent("#load-status")}`);
    await page.fill("#prompt", "");
    await page.click("#check-btn");
    const c = await waitData(page, "check", ["ok", "failed", "error"], 600e3);
    result.checks[name] = await page.textContent("#check-summary");
    console.error(`${name} check: ${result.checks[name]}`);
    if (c !== "ok") fail(`check on ${name}: ${result.checks[name]}`);

    // The finished page: the embedded Q8_0 model, its answer and its check table.
    await page.selectOption("#model-select", "wgpu-ds-tiny-Q8_0.gguf");
    await page.click("#load-btn");
    await waitData(page, "model", ["wgpu-ds-tiny-Q8_0.gguf"], 120e3);
    await page.fill("#prompt", "4096+8192=");
    await page.click("#gen-btn");
    await waitData(page, "generation", ["done"], 300e3);
    await page.click("#check-btn");
    await waitData(page, "check", ["ok"], 600e3);
    result.screenshot = join(out, "web-demo.png");
    await page.screenshot({ path: result.screenshot, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(out, "web-demo-phone.png"), fullPage: true });
    if (errors.length) fail(`the page logged errors: ${errors.join(" | ")}`);
    result.wasm_bytes = (await stat(join(dist, "pkg", "wgpu_ds_web_bg.wasm"))).size;
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(`web e2e: ${e.message ?? e}`);
  process.exit(1);
});
