import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import JSZip from 'jszip';
import { simpleParser } from 'mailparser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createLogger } from '../../src/logger';
import { close, createServer, listen } from '../../src/server';
import { tabRoutes } from '../../src/web/tab/tabPage';
import type { Group } from '../../src/groups/model';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, PHONE, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { openTab as openTabAs } from './tabPage';

/**
 * The Teams tab in headless Chromium against the real server. Inside Teams the tab gets its token from Teams
 * SSO; here the page is served with test hooks on and the token (signed by the fake Entra's key, verified by the
 * real verifier) comes from window.__kaizalaTestTokenProvider.
 */
describe('Teams tab in a browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let h: WebHarness;
  let alice: TestUser;
  let bob: TestUser;
  let harbour: Group;

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, h] = await Promise.all([launchChromium(), startWebHarness({ allowTestHooks: true })]);
    alice = h.newUser('Alice Admin');
    bob = h.newUser('Bob Member');
    harbour = await h.createGroup(alice, 'Harbour crew');
    await h.joinGroup(harbour, alice, bob);
    await h.createGroup(alice, 'Second shift');
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  /** A page whose token provider answers with the user's token; console errors and CSP violations are collected. */
  const openTab = (context: BrowserContext, user: TestUser) => openTabAs(h, context, user);

  async function downloadBytes(page: Page, linkName: RegExp): Promise<{ bytes: Buffer; filename: string }> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: linkName }).click()]);
    const path = await download.path();
    return { bytes: await readFile(path), filename: download.suggestedFilename() };
  }

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`lists the groups, shows the invite, resets the link and downloads the documents (${label})`, async () => {
      const context = await offlineContext(browser, { viewport, acceptDownloads: true });
      try {
        const { page, problems } = await openTab(context, alice);
        const list = page.locator('#group-list');
        await list.getByRole('button', { name: /Harbour crew/ }).waitFor();
        assert.deepEqual((await list.locator('.group-name').allTextContents()).sort(), ['Harbour crew', 'Second shift']);
        assert.match(await list.getByRole('button', { name: /Harbour crew/ }).innerText(), /2 members/);

        await list.getByRole('button', { name: /Harbour crew/ }).click();
        const linkField = page.getByLabel('Invite link', { exact: true });
        await linkField.waitFor();
        const before = await h.groups.getInvite(harbour.id, alice);
        assert.equal(await linkField.inputValue(), before.url);
        assert.equal(await page.locator('.join-code').innerText(), before.joinCode);
        const qr = page.getByRole('img', { name: /QR code of the invite link/ });
        await qr.waitFor();
        assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'QR code rendered');
        // Focus went to the group's heading, so keyboard and screen reader users land on what they picked.
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'detail-heading');

        // Reset asks first, in the page; Cancel changes nothing.
        await page.getByRole('button', { name: 'Reset link' }).click();
        await page.getByRole('button', { name: 'Cancel' }).click();
        assert.equal(await linkField.inputValue(), before.url);
        await page.getByRole('button', { name: 'Reset link' }).click();
        await page.getByRole('button', { name: 'Yes, reset the link' }).click();
        await page.waitForFunction((old) => (document.getElementById('invite-link') as HTMLInputElement | null)?.value !== old, before.url);
        const after = await h.groups.getInvite(harbour.id, alice);
        assert.equal(await linkField.inputValue(), after.url);
        await page.locator('#status', { hasText: 'invite link was reset' }).waitFor();
        await assert.rejects(h.groups.resolveInvite(before.url));

        const poster = await downloadBytes(page, /Download the poster \(PowerPoint\)/);
        assert.equal(poster.filename, 'join-Harbour-crew.pptx');
        const slide = await (await JSZip.loadAsync(poster.bytes)).file('ppt/slides/slide1.xml')?.async('string');
        assert.ok(slide?.includes('Harbour crew'));
        assert.ok(slide?.includes(after.joinCode), 'the poster prints the new code, not the reset one');

        const email = await downloadBytes(page, /Download the email/);
        assert.equal(email.filename, 'join-Harbour-crew.eml');
        const parsed = await simpleParser(email.bytes);
        assert.ok(parsed.text?.includes(after.url));
        assert.ok(typeof parsed.html === 'string' && parsed.html.includes('Harbour crew'));

        if (viewport === PHONE) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
        }
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }

  it('adds a group to the organization after asking, and shows the new status', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const { page, problems } = await openTab(context, alice);
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Second shift/ })
        .click();
      await page.getByRole('button', { name: 'Add to organization' }).click();
      await page.getByRole('button', { name: 'Yes, add it' }).click();
      await page.locator('#status', { hasText: 'now belongs to contoso.example' }).waitFor();
      assert.match(
        await page
          .locator('#group-list')
          .getByRole('button', { name: /Second shift/ })
          .innerText(),
        /Organization: contoso\.example/,
      );
      assert.equal(await page.getByRole('button', { name: 'Add to organization' }).count(), 0);
      const { items } = await h.groups.listMyGroups(alice.id);
      assert.equal(items.find((mine) => mine.group.name === 'Second shift')?.group.tenantId, alice.tid.toLowerCase());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('shows a member the invite but no admin actions, and keyboard focus is visible', async () => {
    const context = await offlineContext(browser, { viewport: PHONE });
    try {
      const { page, problems } = await openTab(context, bob);
      const pick = page.locator('#group-list').getByRole('button', { name: /Harbour crew/ });
      await pick.waitFor();
      await pick.focus();
      const outline = await pick.evaluate((el) => getComputedStyle(el).outlineStyle);
      await page.keyboard.press('Enter');
      await page.getByLabel('Invite link', { exact: true }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Reset link' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Add to organization' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: /Download the poster \(PowerPoint\)/ }).count(), 1);
      assert.notEqual(outline, 'none', 'focused button shows an outline');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('lists members 50 at a time with Show more and a search; a member of a hidden group sees the admins only', async () => {
    const yard = await h.createGroup(alice, 'Big yard');
    const workers = Array.from({ length: 55 }, (_, i) => h.newUser(`Worker ${String(i + 1).padStart(2, '0')}`));
    for (const user of [bob, ...workers]) await h.joinGroup(yard, alice, user);
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const { page, problems } = await openTab(context, bob);
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Big yard/ })
        .click();
      const list = page.locator('ul.members > li');
      await page.getByRole('button', { name: 'Show more members' }).waitFor();
      assert.equal(await list.count(), 50);
      await page.getByRole('button', { name: 'Show more members' }).click();
      await page.waitForFunction(() => document.querySelectorAll('ul.members > li').length === 57);
      assert.ok(await page.getByRole('button', { name: 'Show more members' }).isHidden());
      await page.getByLabel('Search by name').fill('worker 5');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.waitForFunction(() => document.querySelectorAll('ul.members > li').length === 6);
      assert.deepEqual((await list.allTextContents()).sort(), [
        'Worker 50',
        'Worker 51',
        'Worker 52',
        'Worker 53',
        'Worker 54',
        'Worker 55',
      ]);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
    await h.conversation.updateSettings(yard.id, { id: alice.id, name: alice.name }, { membersSeeEachOther: false });
    const hidden = await offlineContext(browser, { viewport: PHONE });
    try {
      const { page } = await openTab(hidden, bob);
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Big yard/ })
        .click();
      await page.getByText('In this group members see the admins, not each other.', { exact: false }).waitFor();
      assert.deepEqual(await page.locator('ul.members > li').allTextContents(), ['Alice Admin · Admin', 'Bob Member (you)']);
      assert.equal(await page.getByLabel('Search by name').count(), 0, 'no search to probe names with');
    } finally {
      await hidden.close();
    }
  });

  it('outside Teams explains how to open it there, and ignores the test hook unless the server allows it', async () => {
    // The same tab routes as production: no test hooks.
    const production = createServer({
      logger: createLogger({ level: 'silent' }),
      healthCheck: async () => true,
      handleMessages: async () => undefined,
    });
    const productionUrl = await listen(production, 0, '127.0.0.1');
    tabRoutes({ logger: createLogger({ level: 'silent' }), publicUrl: productionUrl })(production);
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const token = await h.tokenFor(alice);
      const withHook = await context.newPage();
      await withHook.addInitScript((t: string) => {
        (window as unknown as { __kaizalaTestTokenProvider: () => Promise<string> }).__kaizalaTestTokenProvider = () => Promise.resolve(t);
      }, token);
      const plain = await context.newPage();
      await Promise.all([withHook.goto(`${productionUrl}/tab`), plain.goto(`${h.url}/tab`)]);
      for (const page of [withHook, plain]) {
        await page.getByRole('heading', { name: 'Open this page in Microsoft Teams' }).waitFor({ timeout: 15_000 });
        assert.equal(await page.locator('#group-list').count(), 0);
        // Named as the manifest names the tab.
        assert.match(await page.locator('section.outside').innerText(), /Select the My groups tab/);
      }
    } finally {
      await context.close();
      await close(production);
    }
  });
});
