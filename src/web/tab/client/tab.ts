/**
 * The Teams tab: the user's groups, and for one group its invite link, QR code, admin actions and the step-4
 * documents. Browser code, bundled by esbuild (src/web/tab/tabPage.ts). Plain DOM; text only ever goes in
 * through textContent or attributes, never innerHTML.
 *
 * Sign-in: inside Teams, `authentication.getAuthToken()` (Teams SSO) gives the token the API verifies. Outside
 * Teams the page explains how to open it there. Tests replace the token provider through
 * `window.__kaizalaTestTokenProvider`, which is read only when the server marked the page with
 * `data-test-hooks="on"` (it does so only when configured with `allowTestHooks: true`, never in production).
 */
import type * as TeamsJs from '@microsoft/teams-js';
import { ApiClient, type TokenProvider } from './apiClient';
import { el } from './dom';
import { StatusRegion } from './statusRegion';
import { TabView } from './tabView';

declare global {
  interface Window {
    /** Test hook, see the module comment. */
    __kaizalaTestTokenProvider?: TokenProvider;
  }
}

/** Teams answers initialize in well under a second; silence this long means we are not inside Teams. */
const TEAMS_INIT_TIMEOUT_MS = 5000;

/** The server's base URL: the script is served at <base>/tab/tab.js. Read while the script runs. */
const SERVER_BASE = new URL('../', (document.currentScript as HTMLScriptElement | null)?.src ?? window.location.href);

// ---- start ------------------------------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = window.setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        window.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        window.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error('failed'));
      },
    );
  });
}

function applyTheme(theme: string | undefined): void {
  document.documentElement.dataset.theme = theme === 'dark' || theme === 'contrast' ? theme : 'default';
}

/** The test hook when the page allows it, Teams SSO inside Teams, nothing outside Teams. */
async function chooseTokenProvider(): Promise<TokenProvider | undefined> {
  const testHook = window.__kaizalaTestTokenProvider;
  if (document.body.dataset.testHooks === 'on' && typeof testHook === 'function') return () => testHook();
  // Loaded only on this path (esbuild evaluates a dynamically imported module lazily): teams-js fetches its list
  // of valid host origins as soon as it is evaluated.
  let app: typeof TeamsJs.app;
  let authentication: typeof TeamsJs.authentication;
  try {
    ({ app, authentication } = await import('@microsoft/teams-js'));
    await withTimeout(app.initialize(), TEAMS_INIT_TIMEOUT_MS);
  } catch {
    return undefined;
  }
  app.notifySuccess();
  app.getContext().then(
    (context) => applyTheme(context.app.theme),
    () => undefined,
  );
  app.registerOnThemeChangeHandler(applyTheme);
  return () => authentication.getAuthToken();
}

function showOutsideTeams(root: HTMLElement, status: StatusRegion): void {
  root.replaceChildren(
    el(
      'section',
      { class: 'card outside', 'aria-labelledby': 'outside-heading' },
      el('h2', { id: 'outside-heading' }, 'Open this page in Microsoft Teams'),
      el('p', {}, 'This page is a tab of the Kaizala Groups app and works only inside Teams, where it knows who you are.'),
      el(
        'ol',
        {},
        el('li', {}, 'Open Microsoft Teams (desktop, web or mobile).'),
        el('li', {}, 'Open your chat with the Kaizala Groups bot, or find the app under Apps.'),
        el('li', {}, 'Select the My groups tab at the top of the chat.'),
      ),
    ),
  );
  status.show('Not running inside Microsoft Teams.', 'info');
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  const statusNode = document.getElementById('status');
  if (!root || !statusNode) return;
  const status = new StatusRegion(statusNode);
  const provider = await chooseTokenProvider();
  if (!provider) {
    showOutsideTeams(root, status);
    return;
  }
  const view = new TabView(root, new ApiClient(provider, SERVER_BASE), status);
  await view.loadGroups();
}

void start();
