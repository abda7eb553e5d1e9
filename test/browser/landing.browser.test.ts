import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Group, Invite } from '../../src/groups/model';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, PHONE, chromiumAvailable, launchChromium, offlineContext } from './chromium';

/** 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** The page a shared invite link opens (GET /join/<token>), in headless Chromium. */
describe('Invite landing page in a browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let h: WebHarness;
  let alice: TestUser;
  let group: Group;
  let invite: Invite;
  // Long enough to wrap, with characters a page must escape.
  const name = 'Harbour crew <Plant 2> & the night shift of the northern loading docks, Rotterdam';

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, h] = await Promise.all([launchChromium(), startWebHarness()]);
    alice = h.newUser('Alice Admin');
    group = await h.createGroup(alice, name, { bytes: PNG, contentType: 'image/png' });
    await h.joinGroup(group, alice, h.newUser('Bob Member'));
    invite = await h.groups.getInvite(group.id, alice);
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`shows the group, its member count and preview tags, and changes nothing (${label})`, async () => {
      const before = await h.groups.getGroup(group.id);
      const context = await offlineContext(browser, { viewport });
      try {
        const page = await context.newPage();
        const response = await page.goto(invite.url);
        assert.equal(response?.status(), 200);
        assert.match(response?.headers()['x-robots-tag'] ?? '', /noindex/);

        assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), name);
        assert.match(await page.locator('.meta').innerText(), /^2 members/);
        assert.match(await page.locator('meta[name="robots"]').getAttribute('content') ?? '', /noindex/);
        assert.equal(await page.locator('meta[property="og:title"]').getAttribute('content'), `Join ${name}`);
        assert.match(await page.locator('meta[property="og:description"]').getAttribute('content') ?? '', /^2 members\./);
        assert.equal(await page.locator('meta[property="og:url"]').getAttribute('content'), invite.url);
        const photo = page.locator('img.photo');
        await photo.waitFor();
        assert.ok(await photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'group photo loads (same origin, allowed by the CSP)');
        assert.ok((await page.locator('code').innerText()).includes(invite.url), 'the join command carries the link');

        if (viewport === PHONE) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
        }
      } finally {
        await context.close();
      }
      // Link scanners and unfurlers fetch this page: loading it must not join anyone or change anything.
      const after = await h.groups.getGroup(group.id);
      assert.equal(after.memberCount, before.memberCount);
      assert.deepEqual(after, before);
    });
  }

  it('says plainly when a link was reset', async () => {
    const other = await h.createGroup(alice, 'Reset me');
    const old = await h.groups.getInvite(other.id, alice);
    await h.groups.resetInviteLink(other.id, alice);
    const context = await offlineContext(browser, { viewport: PHONE });
    try {
      const page = await context.newPage();
      const response = await page.goto(old.url);
      assert.equal(response?.status(), 404);
      assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /not valid/);
    } finally {
      await context.close();
    }
  });
});
