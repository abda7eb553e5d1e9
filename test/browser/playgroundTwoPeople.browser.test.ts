import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { CHROMIUM_MISSING, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { PlaygroundScript, playgroundScriptProblem } from './playgroundScript';

/**
 * `npm run playground` with two people, as the README shows it: Alex in the first window, Megan Bowen in the
 * second (a playground of her own, talking to the same bot). Alex creates a group; Megan joins with his link in
 * her own chat; Alex posts; Megan sees the post card in her window and replies from it; Alex sees her reply in
 * his. Real script, real playgrounds in the script's network namespace, Chromium on this machine's loopback.
 */
const ROOT = path.join(__dirname, '..', '..');
const READY =
  /Playground ready\. Open http:\/\/127\.0\.0\.1:(\d+)\/ .* A second person \(Megan Bowen, her own chat with the bot\): http:\/\/127\.0\.0\.1:(\d+)\/ /;
const SHOTS = path.join(ROOT, 'build', 'screenshots', 'two-people');

/** One person's window: type, wait for a new card with some text, screenshot. */
class Window {
  readonly cards: Locator;
  constructor(
    readonly page: Page,
    private readonly who: string,
  ) {
    this.cards = page.locator('.ac-adaptiveCard');
  }

  async say(text: string): Promise<void> {
    const composer = this.page.locator('[role=textbox], [contenteditable=true]').first();
    await composer.click();
    await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }

  /** The newest card with `text`, once more cards than `before` are shown. */
  async newCardWith(before: number, text: string | RegExp): Promise<Locator> {
    await this.page.waitForFunction((n) => document.querySelectorAll('.ac-adaptiveCard').length > n, before);
    const card = this.cards.filter({ hasText: text }).last();
    await card.waitFor();
    return card;
  }

  async shot(step: string): Promise<void> {
    await this.page.screenshot({ path: path.join(SHOTS, `${this.who}-${step}.png`) });
  }
}

describe('npm run playground: two people, each in a window of their own', function () {
  this.timeout(180_000);
  let script: PlaygroundScript | undefined;
  let browser: Browser | undefined;
  let alexUrl = '';
  let meganUrl = '';
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'playground-two-people-'));

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    const problem = playgroundScriptProblem();
    if (problem) {
      console.warn(`two-people playground test skipped: ${problem}`);
      this.skip();
    }
    mkdirSync(SHOTS, { recursive: true });
    // PORT=0: any free port for the bot's relay, so this test never waits for another test's 3978.
    const started = await PlaygroundScript.start({ dataDir, env: { PORT: '0' }, ready: READY });
    script = started.script;
    alexUrl = `http://127.0.0.1:${started.match[1]}`;
    meganUrl = `http://127.0.0.1:${started.match[2]}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await script?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints both windows, and each is a different person', async () => {
    assert.notEqual(alexUrl, meganUrl);
    const whoIs = async (url: string) => {
      const res = await fetch(`${url}/_internal/v1/config`);
      return ((await res.json()) as { config: { currentUser: { name: string } } }).config.currentUser.name;
    };
    assert.deepEqual([await whoIs(alexUrl), await whoIs(meganUrl)], ['Alex Wilber', 'Megan Bowen']);
  });

  it('Alex posts, Megan sees it in her own chat and replies from the card, Alex sees her reply', async () => {
    const open = async (url: string, who: string) => {
      const context = await offlineContext(browser!, { viewport: { width: 1360, height: 1000 } });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
      const window = new Window(page, who);
      await window.cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor({ timeout: 60_000 });
      return window;
    };
    const alex = await open(alexUrl, 'alex');
    const megan = await open(meganUrl, 'megan');
    try {
      // Alex creates the group and takes its join code.
      let before = await alex.cards.count();
      await alex.say('new group Dock Crew');
      const askPhoto = await alex.newCardWith(before, 'A photo for');
      before = await alex.cards.count();
      await askPhoto.getByRole('button', { name: 'Skip' }).click();
      const info = await alex.newCardWith(before, 'Invite People');
      before = await alex.cards.count();
      await info.getByRole('button', { name: 'Invite People' }).click();
      const invite = await alex.newCardWith(before, 'Join code');
      const link = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(await invite.innerText())?.[0];
      assert.ok(link, 'the invite card shows the link');
      await alex.shot('1-invite');

      // Megan joins in her own window.
      before = await megan.cards.count();
      await megan.say(`join ${link}`);
      await megan.page
        .getByText(/Welcome, Megan/)
        .first()
        .waitFor();
      await megan.shot('2-joined');

      // Alex posts; Megan's window shows the copy.
      before = await megan.cards.count();
      await alex.say('Truck 4 is late, ETA 5 pm');
      await alex.page
        .getByText(/Sent to/)
        .first()
        .waitFor();
      const copy = await megan.newCardWith(before, 'Truck 4 is late, ETA 5 pm');
      assert.match(await copy.innerText(), /Alex Wilber/);
      await megan.shot('3-copy');

      // Megan replies from the card; Alex's window shows her reply, saying what it answers.
      await copy.getByRole('button', { name: 'Reply' }).click();
      await copy.getByLabel(/Reply to Alex Wilber/).fill('On my way, 10 minutes');
      before = await alex.cards.count();
      await copy.getByRole('button', { name: 'Send' }).click();
      await megan.page
        .getByText(/You replied in Dock Crew to Alex Wilber/)
        .first()
        .waitFor();
      const reply = await alex.newCardWith(before, 'On my way, 10 minutes');
      const replyText = await reply.innerText();
      assert.match(replyText, /Megan Bowen/);
      assert.match(replyText, /replying to/);
      await alex.shot('4-reply');
    } finally {
      await alex.page.context().close();
      await megan.page.context().close();
    }
  });
});
