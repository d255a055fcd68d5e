// Opens a report of `xpusim compare` in headless Chromium and checks it against its
// results.json: every architecture in the summary and with its section, every layer in its
// architecture's table, every plot drawn with its marks, no console error or warning, no page
// error and no network request (only file: and data: URLs load).
//
//   node tests/browser/check_compare_report.mjs DIR [--screenshot FILE.png]
//
// DIR holds report.html and results.json. Chromium: $CHROMIUM, else /usr/bin/chromium (Debian's
// package); playwright-core: from report/node_modules (scripts/install-deps.sh installs both).
// Exit status: 0 every check passed, 1 a check failed, 2 Chromium or playwright-core missing
// (or a usage error).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function quit(status, message) {
  console.error(`check_compare_report: ${message}`);
  process.exit(status);
}

const args = process.argv.slice(2);
const shotAt = args.indexOf("--screenshot");
const screenshot = shotAt >= 0 ? args.splice(shotAt, 2)[1] : null;
if (args.length !== 1 || (shotAt >= 0 && !screenshot))
  quit(2, "usage: node tests/browser/check_compare_report.mjs DIR [--screenshot FILE.png]");
const dir = resolve(args[0]);
for (const file of ["report.html", "results.json"])
  if (!existsSync(join(dir, file))) quit(1, `${join(dir, file)} does not exist`);

let chromium;
try {
  ({ chromium } = createRequire(join(root, "report", "package.json"))("playwright-core"));
} catch (error) {
  quit(2, `playwright-core is missing from ${join(root, "report", "node_modules")} ` +
    "(scripts/install-deps.sh installs it: npm ci --prefix report): " +
    error.message.split("\n")[0]);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath))
  quit(2, `Chromium is missing: no ${executablePath} (Debian's package chromium; ` +
    "scripts/install-deps.sh --tests installs it; $CHROMIUM names another)");

const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
const archs = results.architectures;

// What the page should draw, from the results (report/report.js draws it): each chart by name,
// with the number of items of each mark type, and the text its caption must hold.
function expectedCharts() {
  const charts = [
    { name: "time", marks: { rect: archs.length } },
    { name: "layers", marks: { rect: archs.reduce((n, a) => n + a.layers.length, 0) } },
  ];
  for (const a of archs) {
    const placed = a.layers.filter((l) => l.intensity !== null && l.achieved_tops > 0);
    const names = (layers) => layers.map((l) => l.name).join(", ");
    const noTraffic = a.layers.filter((l) => l.intensity === null);
    const noOps = a.layers.filter((l) => l.intensity !== null && !(l.achieved_tops > 0));
    const caption = [];
    if (noTraffic.length) caption.push("not placed: no off-chip traffic: " + names(noTraffic));
    if (noOps.length) caption.push("not placed: no operations: " + names(noOps));
    // A ceiling line per distinct compute peak of a class.
    const ceilings = new Set(a.peaks.map((p) => `${p.class} ${p.tops}`)).size;
    charts.push({
      name: "roofline:" + a.arch, marks: { symbol: placed.length, line: ceilings }, caption,
    });
  }
  for (const a of archs)
    if (a.units.length) charts.push({ name: "units:" + a.arch, marks: { rect: a.units.length } });
  return charts;
}

// The page as drawn: the tables' first columns, each chart's SVG size and mark items.
function snapshot() {
  const firstCells = (rows) => [...rows].map((r) => r.cells[0].textContent);
  const sections = {};
  for (const s of document.querySelectorAll("section[data-arch]"))
    sections[s.dataset.arch] = firstCells(s.querySelectorAll("table.layers tbody tr"));
  const charts = {};
  for (const c of document.querySelectorAll("[data-chart]")) {
    const svgs = c.querySelectorAll("svg.marks");
    const box = svgs.length ? svgs[0].getBoundingClientRect() : { width: 0, height: 0 };
    const items = (type) => c.querySelectorAll(`g.mark-${type}.role-mark > path`).length;
    charts[c.dataset.chart] = {
      svgs: svgs.length, width: box.width, height: box.height,
      marks: { rect: items("rect"), symbol: items("symbol"), line: items("line") },
      caption: [...c.closest("figure").querySelectorAll("figcaption")].map((f) => f.textContent),
    };
  }
  return {
    rendered: document.body.dataset.rendered,
    error: [...document.querySelectorAll(".error")].map((e) => e.textContent).join("\n"),
    summary: firstCells(document.querySelectorAll("table.summary tbody tr")),
    sections,
    charts,
    views: (window.xpusimViews || []).map((v) => v.name),
    allSvgs: document.querySelectorAll(".vega-embed svg.marks").length,
  };
}

let passed = 0, failed = 0;
function check(ok, what, detail) {
  if (ok) {
    passed++;
    console.log(`ok: ${what}`);
  } else {
    failed++;
    console.log(`FAIL: ${what}${detail ? `: ${detail}` : ""}`);
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

let browser;
try {
  browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
} catch (error) {
  quit(2, `Chromium (${executablePath}) does not start: ${error.message}`);
}
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning")
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("websocket", (w) => problems.push(`websocket: ${w.url()}`));
  // Every request but the report's own file and its data: URLs is refused and reported.
  const local = (url) => url.startsWith("file:") || url.startsWith("data:");
  page.on("request", (r) => { if (!local(r.url())) problems.push(`network request: ${r.url()}`); });
  await context.route("**/*",
    (route) => (local(route.request().url()) ? route.continue() : route.abort()));

  await page.goto(pathToFileURL(join(dir, "report.html")).href, { timeout: 30000 });
  await page.waitForSelector("body[data-rendered]", { state: "attached", timeout: 30000 });
  const got = await page.evaluate(snapshot);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  check(got.rendered === "true", 'body[data-rendered] is "true"',
    `it is "${got.rendered}" ${got.error}`);
  check(same(got.summary, archs.map((a) => a.arch)), `summary table: ${archs.length} architectures`,
    `rows: ${got.summary.join(", ")}`);
  for (const a of archs) {
    const rows = got.sections[a.arch];
    check(rows !== undefined, `${a.arch}: its section`);
    if (rows === undefined) continue;
    const names = a.layers.map((l) => l.name);
    check(same(rows, names), `${a.arch}: layer table, ${names.length} rows, every layer in order`,
      `expected ${names.length} rows (${names.join(", ")}), ` +
      `got ${rows.length} (${rows.join(", ")})`);
  }
  const charts = expectedCharts();
  check(same([...got.views].sort(), charts.map((c) => c.name).sort()),
    `${charts.length} views drawn`, `drawn: ${got.views.join(", ")}`);
  check(got.allSvgs === charts.length, `${charts.length} SVG plots on the page`,
    `found ${got.allSvgs}`);
  for (const c of charts) {
    const g = got.charts[c.name];
    if (!g) {
      check(false, `${c.name}: plotted`, "no such chart on the page");
      continue;
    }
    check(g.svgs === 1 && g.width > 0 && g.height > 0,
      `${c.name}: an SVG of ${g.width}x${g.height}`, `${g.svgs} SVG elements`);
    for (const [type, n] of Object.entries(c.marks))
      check(g.marks[type] === n, `${c.name}: ${n} ${type} items`, `found ${g.marks[type]}`);
    if (c.caption)
      check(same(g.caption, c.caption), `${c.name}: layers not placed are listed`,
        `expected ${JSON.stringify(c.caption)}, got ${JSON.stringify(g.caption)}`);
  }
} catch (error) {
  check(false, "the report opens and renders", error.message.split("\n")[0]);
} finally {
  check(problems.length === 0, "no console error or warning, page error or network request",
    "\n  " + problems.join("\n  "));
  await browser.close();
}
console.log(`${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
