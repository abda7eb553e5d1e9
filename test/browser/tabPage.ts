import type { BrowserContext, Page } from 'playwright-core';
import type { TestUser, WebHarness } from '../web/webHarness';

/**
 * Opens the tab as `user`: the page's token provider answers with the user's token (what Teams SSO gives the tab),
 * and the page's console errors and uncaught errors are collected in `problems`. With `refuseDialogs`, a
 * browser dialog (alert, confirm) is a problem too, and is dismissed.
 */
export async function openTab(
  h: WebHarness,
  context: BrowserContext,
  user: TestUser,
  options: { refuseDialogs?: boolean } = {},
): Promise<{ page: Page; problems: string[] }> {
  const token = await h.tokenFor(user);
  await context.addInitScript((t: string) => {
    (window as unknown as { __kaizalaTestTokenProvider: () => Promise<string> }).__kaizalaTestTokenProvider = () => Promise.resolve(t);
  }, token);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  if (options.refuseDialogs) {
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
  }
  await page.goto(`${h.url}/tab`);
  return { page, problems };
}
