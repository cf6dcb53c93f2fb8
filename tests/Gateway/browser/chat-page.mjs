// Drives the chat page in headless Chromium the way a person would: types a message, presses Send, and
// watches the reply. Prints one JSON line with what it saw; the C# test decides what that must be.
//   node chat-page.mjs '{"url": "http://127.0.0.1:PORT/", "message": "Hello", "screenshot": "out.png",
//                       "apiKey": "optional", "expect": "reply" | "error"}'
import { launchChromium } from "./chromium.mjs";

const config = JSON.parse(process.argv[2]);
const timeout = config.timeoutMs ?? 120_000;

const browser = await launchChromium();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(config.url);
  if (config.apiKey) {
    await page.getByLabel("API key").fill(config.apiKey);
    await page.getByLabel("API key").dispatchEvent("change");
  }

  // Sample the reply while it streams: a reply that arrives in pieces shows text before it is finished.
  await page.evaluate(() => {
    window.partialTexts = [];
    new MutationObserver(() => {
      const reply = document.querySelector('[data-role="assistant"][aria-busy="true"]');
      if (reply && reply.textContent.length > 0) {
        window.partialTexts.push(reply.textContent);
      }
    }).observe(document.getElementById("messages"), { childList: true, subtree: true, characterData: true });
  });

  await page.getByRole("textbox", { name: "Message" }).fill(config.message);
  await page.getByRole("button", { name: "Send" }).click();

  const result = { user: null, assistant: null, partials: [], alert: "" };
  if (config.expect === "error") {
    await page.getByRole("alert").filter({ hasText: /\S/ }).waitFor({ timeout });
  } else {
    await page.locator('[data-role="assistant"]:not([aria-busy])').first().waitFor({ timeout });
  }

  result.user = await page.locator('[data-role="user"]').last().textContent();
  const assistant = page.locator('[data-role="assistant"]');
  result.assistant = (await assistant.count()) > 0 ? await assistant.last().textContent() : null;
  result.partials = await page.evaluate(() => window.partialTexts);
  result.alert = (await page.getByRole("alert", { includeHidden: true }).textContent()) ?? "";
  result.stopEnabledAfter = await page.getByRole("button", { name: "Stop" }).isEnabled();
  result.sendEnabledAfter = await page.getByRole("button", { name: "Send" }).isEnabled();
  if (config.screenshot) {
    await page.screenshot({ path: config.screenshot });
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
