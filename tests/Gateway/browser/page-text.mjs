// Opens a page in headless Chromium, waits until it shows a text, and prints one JSON line with the page's
// visible text; optionally saves a screenshot. For pages the project serves but does not write (dashboards).
//   node page-text.mjs '{"url": "http://127.0.0.1:PORT/dashboard/", "waitFor": "ConversationGrain", "screenshot": "out.png"}'
import { launchChromium } from "./chromium.mjs";

const config = JSON.parse(process.argv[2]);
const browser = await launchChromium();

try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(config.url);
  await page.getByText(config.waitFor).first().waitFor({ timeout: config.timeoutMs ?? 60_000 });
  if (config.screenshot) {
    await page.screenshot({ path: config.screenshot });
  }
  console.log(JSON.stringify({ text: await page.locator("body").innerText() }));
} finally {
  await browser.close();
}
