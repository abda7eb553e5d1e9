import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

/** Debian's chromium; CI installs it. Suites skip (with this reason) when it is missing. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_MISSING = `${CHROMIUM_PATH} is not installed (apt-get install chromium); browser tests skipped`;

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** One headless browser per test file; Playwright gives it a fresh temporary profile. No network beyond loopback is used. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A context that reaches only loopback: anything else (teams-js's CDN lookup, say) is aborted, never sent. */
export async function offlineContext(browser: Browser, options: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('internetdisconnected'),
  );
  return context;
}
