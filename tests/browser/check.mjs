// Opens a wormtrace HTML report in headless Chromium (Debian's /usr/bin/chromium) and prints
// what a reader would find, as JSON: the cards in order, the hourly bars, whether sorting and
// filtering work, console errors, network requests, dialogs, and the load time. Saves a
// screenshot of the first screen. Usage: node check.mjs REPORT.html SCREENSHOT.png
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [report, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const consoleErrors = [];
const requests = [];
const dialogs = [];
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("request", (r) => requests.push(r.url()));
page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const url = pathToFileURL(report).href;
await page.goto(url, { waitUntil: "load" });
const loadMs = await page.evaluate(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return nav ? nav.loadEventEnd - nav.startTime : null;
});
await page.screenshot({ path: screenshot });
const cards = await page.$$eval("article.card", (els) =>
  els.map((e) => ({ state: e.dataset.state, subject: e.querySelector("h3").textContent })));
const bars = await page.$$eval("#hourly g.bar", (gs) => gs.map((g) => ({
  hour: g.dataset.hour,
  count: Number(g.dataset.count),
  height: Array.from(g.querySelectorAll("rect")).reduce((s, r) => s + Number(r.getAttribute("height")), 0),
})));
// Sorting: click the first header of the verdicts table twice; the first column's order flips.
const column = () => page.$$eval("#verdicts-table tbody tr", (rows) =>
  rows.map((r) => r.cells[0].textContent));
await page.click("#verdicts-table thead th:nth-child(1)");
const ascending = await column();
await page.click("#verdicts-table thead th:nth-child(1)");
const descending = await column();
const sorted = (xs) => xs.every((x, i) => i === 0 || xs[i - 1].localeCompare(x) <= 0);
// Filtering: type the first row's subject; only matching rows stay visible.
const probe = ascending[0] || "";
await page.fill("input[data-table=verdicts-table]", probe);
const visible = await page.$$eval("#verdicts-table tbody tr", (rows) =>
  rows.filter((r) => !r.classList.contains("hidden")).map((r) => r.textContent));
await page.fill("input[data-table=verdicts-table]", "");
const counts = await page.evaluate(() => ({
  scripts: document.scripts.length,
  images: document.images.length,
  iframes: document.querySelectorAll("iframe").length,
  handlers: Array.from(document.querySelectorAll("*")).filter((e) =>
    Array.from(e.attributes).some((a) => a.name.startsWith("on"))).length,
  javascriptUrls: Array.from(document.querySelectorAll("[href],[src]")).filter((e) =>
    /^\s*javascript:/i.test(e.getAttribute("href") || e.getAttribute("src") || "")).length,
  pwned: window.__pwned === true,
  csp: (document.querySelector("meta[http-equiv=Content-Security-Policy]") || {}).content || "",
  conclusion: (document.getElementById("conclusion") || {}).textContent || "",
  text: document.body.innerText,
}));
await browser.close();
console.log(JSON.stringify({
  url, loadMs, cards, bars, consoleErrors, dialogs,
  requests: requests.filter((r) => r !== url),
  sortAscending: sorted(ascending), sortDescending: sorted(descending.slice().reverse()),
  rows: ascending.length, filterProbe: probe, filterVisible: visible.length,
  filterAllMatch: visible.every((t) => t.includes(probe)),
  ...counts,
}));
