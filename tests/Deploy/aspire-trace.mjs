// Opens one trace on the Aspire dashboard in headless Chromium, waits until its spans are drawn, and saves a
// screenshot. Prints one JSON line with the span names it saw; the C# test decides what they must be.
//   node aspire-trace.mjs '{"url": "http://127.0.0.1:PORT/traces/detail/TRACEID", "expect": ["inference.chat"],
//                           "screenshot": "out.png", "modules": "/path/to/tests/Gateway/browser/"}'
// The browser comes from the browser tests' launcher (tests/Gateway/browser/chromium.mjs, with the playwright-core they restore).
import { pathToFileURL } from "node:url";
import path from "node:path";

const config = JSON.parse(process.argv[2]);
const { launchChromium } = await import(pathToFileURL(path.join(config.modules, "chromium.mjs")).href);
const timeout = config.timeoutMs ?? 60_000;

const browser = await launchChromium();

try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.goto(config.url);
  // The dashboard is a Blazor Server app: spans arrive over its circuit after the page loads.
  for (const name of config.expect ?? []) {
    await page.getByText(name, { exact: false }).first().waitFor({ timeout });
  }
  // Dismiss the banners (unsecured endpoint: the test runs the dashboard anonymous; no development
  // certificate: plain HTTP), so the picture shows the trace.
  // Banners can arrive after the spans, so look again after each click.
  const dismiss = page.locator('[aria-label="Dismiss notification"]');
  await page.waitForTimeout(1000);
  for (let i = 0; i < 5 && (await dismiss.count()) > 0; i++) {
    await dismiss.first().click().catch(() => {});
    await page.waitForTimeout(300);
  }
  // Let the waterfall finish laying out before the picture.
  await page.waitForTimeout(1000);
  const text = await page.locator("body").innerText();
  await page.screenshot({ path: config.screenshot });
  console.log(JSON.stringify({ title: await page.title(), seen: (config.expect ?? []).filter((n) => text.includes(n)) }));
} finally {
  await browser.close();
}
