import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { PlaygroundScript, playgroundScriptProblem } from './playgroundScript';

/**
 * `npm run playground` as a new user runs it, on a machine where port 3978 is taken by another process: the
 * script's own network namespace, its relays, the real Agents Playground, and Chromium on this machine's
 * loopback. Every link the cards show that points at our server (invite link, posters, email) must answer
 * here with the right content type, and the share links must carry the invite.
 */
const READY = /Playground ready\. Open http:\/\/127\.0\.0\.1:(\d+)\/ .* The links the bot shows open at (http:\/\/127\.0\.0\.1:\d+)\./;

describe('npm run playground: every server link the cards show answers from this machine', function () {
  this.timeout(150_000);
  let script: PlaygroundScript | undefined;
  let browser: Browser | undefined;
  let blocker: net.Server | undefined;
  let output = '';
  let uiUrl = '';
  let botUrl = '';
  let busyPort = 0;
  // Its own data folder: the test must not add groups to the developer's playground.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'playground-links-'));

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    const problem = playgroundScriptProblem();
    if (problem) {
      console.warn(`playground links test skipped: ${problem}`);
      this.skip();
    }
    // "Another process" on the port the bot would use.
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    busyPort = (blocker.address() as net.AddressInfo).port;

    const started = await PlaygroundScript.start({ dataDir, env: { PORT: String(busyPort) }, ready: READY, timeoutMs: 90_000 });
    script = started.script;
    output = script.printed;
    uiUrl = `http://127.0.0.1:${started.match[1]}`;
    botUrl = started.match[2]!;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await script?.stop();
    blocker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('relays the bot on a free port of this machine (not the taken one) and points its links there', () => {
    assert.notEqual(botUrl, `http://127.0.0.1:${busyPort}`);
    assert.ok(output.includes(`data: ${dataDir}`), 'the bot uses the data folder it was given');
  });

  it('shows links that all answer here: invite page, both posters, the email; share links carry the invite', async () => {
    const context = await offlineContext(browser!, { viewport: { width: 1360, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const cards = page.locator('.ac-adaptiveCard');
    const newCardWith = async (before: number, text: string | RegExp): Promise<Locator> => {
      const card = cards.filter({ hasText: text }).last();
      await card.waitFor();
      await page.waitForFunction((n) => document.querySelectorAll('.ac-adaptiveCard').length > n, before);
      return card;
    };
    const say = async (text: string) => {
      const composer = page.locator('[role=textbox], [contenteditable=true]').first();
      await composer.click();
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
    };
    /** The playground renders an Action.OpenUrl as a link-role button whose title is the URL (after the tooltip). */
    const urlOf = async (card: Locator, name: string): Promise<string> => {
      const title = await card.getByRole('link', { name, exact: true }).getAttribute('title');
      const url = title?.split('\n').at(-1);
      assert.ok(url, `the "${name}" button has a URL`);
      return url;
    };

    try {
      await page.goto(`${uiUrl}/`, { waitUntil: 'domcontentloaded' });
      await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor({ timeout: 60_000 });

      let before = await cards.count();
      await say('new group');
      const askName = await newCardWith(before, 'What is the group called?');
      await askName.getByLabel('Group name').fill('Links Check');
      before = await cards.count();
      await askName.getByRole('button', { name: 'Next' }).click();
      const askPhoto = await newCardWith(before, 'A photo for');
      before = await cards.count();
      await askPhoto.getByRole('button', { name: 'Skip' }).click();
      const info = await newCardWith(before, 'Invite People');

      before = await cards.count();
      await info.getByRole('button', { name: 'Invite People' }).click();
      const invite = await newCardWith(before, 'Join code');
      const inviteLink = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(await invite.innerText())?.[0];
      assert.ok(inviteLink, 'the invite card shows the link');
      assert.ok(inviteLink.startsWith(`${botUrl}/join/`), `${inviteLink} is on the relayed bot port`);
      for (const share of ['WhatsApp', 'Telegram', 'SMS', 'Email', 'Teams']) {
        const url = await urlOf(invite, share);
        assert.ok(decodeURIComponent(url).includes(inviteLink), `${share} share link carries the invite: ${url}`);
        assert.doesNotThrow(() => new URL(url), `${share} share link is a well-formed URL`);
      }

      // `/poster` (the owner's only group; a bare "poster" would be a post to the current group).
      before = await cards.count();
      await say('/poster');
      const details = await newCardWith(before, 'Who are the posters from?');
      await details.getByLabel('A short personal line (optional)').fill('See you in Teams!');
      before = await cards.count();
      await details.getByRole('button', { name: 'Save and get the posters' }).click();
      const posters = await newCardWith(before, 'Bring your work groups to Teams');
      const joinPoster = await urlOf(posters, 'Join Links Check');
      const movePoster = await urlOf(posters, 'Bring your work groups to Teams');

      before = await cards.count();
      await posters.getByRole('button', { name: 'Email instead' }).click();
      const emailDetails = await newCardWith(before, 'Who is the email from?');
      before = await cards.count();
      await emailDetails.getByRole('button', { name: 'Save and get the email' }).click();
      const emailCard = await newCardWith(before, 'Email to the members of');
      const email = await urlOf(emailCard, 'Download email');
      assert.ok((await urlOf(emailCard, 'Write the email')).startsWith('mailto:'));

      for (const [url, type] of [
        [inviteLink, /^text\/html/],
        [joinPoster, /presentationml\.presentation/],
        [movePoster, /presentationml\.presentation/],
        [email, /^message\/rfc822/],
      ] as const) {
        assert.ok(url.startsWith(`${botUrl}/`), `${url} points at the relayed bot`);
        const res = await fetch(url);
        assert.equal(res.status, 200, url);
        assert.match(res.headers.get('content-type') ?? '', type, url);
        await res.arrayBuffer();
      }
    } finally {
      await context.close();
    }
  });
});
