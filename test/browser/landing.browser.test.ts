import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { Group, Invite } from '../../src/groups/model';
import { inviteQrDataUrl } from '../../cards/qr';
import { GET_TEAMS_URL } from '../../src/web/landingPage';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, PHONE, chromiumAvailable, launchChromium, offlineContext } from './chromium';

/** 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const BOT_APP_ID = '11111111-2222-4333-8444-555555555555';
const TEAMS_APP_ID = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const ORGANIZATION = 'Contoso & Sons <Rotterdam>';

/** The page a shared invite link opens (GET /join/<token>), in headless Chromium. */
describe('Invite landing page in a browser', function () {
  this.timeout(90_000);
  let browser: Browser;
  /** A deployment with a bot app id and a Teams app id. */
  let teams: WebHarness;
  /** A local run: no app id. */
  let local: WebHarness;
  let alice: TestUser;
  let mapped: Group;
  let mappedInvite: Invite;
  let unmapped: Group;
  let unmappedInvite: Invite;
  // Long enough to wrap, with characters a page must escape.
  const name = 'Harbour crew <Plant 2> & the night shift of the northern loading docks, Rotterdam';

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, teams, local] = await Promise.all([
      launchChromium(),
      startWebHarness({ landing: { botAppId: BOT_APP_ID, teamsAppId: TEAMS_APP_ID } }),
      startWebHarness(),
    ]);
    alice = teams.newUser('Alice Admin');
    mapped = await teams.createGroup(alice, name, { bytes: PNG, contentType: 'image/png' });
    await teams.joinGroup(mapped, alice, teams.newUser('Bob Member'));
    await teams.groups.mapToOrganization({
      groupId: mapped.id,
      actor: alice,
      verified: { tenantId: alice.tid, objectId: alice.id, organizationName: ORGANIZATION },
      idempotencyKey: `landing-test|${mapped.id}`,
    });
    mappedInvite = await teams.groups.getInvite(mapped.id, alice);
    unmapped = await local.createGroup(alice, 'Night shift');
    unmappedInvite = await local.groups.getInvite(unmapped.id, alice);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([teams?.stop(), local?.stop()]);
  });

  /** Opens a page, collecting console errors (a CSP violation is one). */
  async function open(url: string, options: { viewport: { width: number; height: number }; javaScript: boolean }) {
    const context = await offlineContext(browser, { viewport: options.viewport, javaScriptEnabled: options.javaScript });
    if (options.javaScript) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const response = await page.goto(url);
    return { context, page, response, errors };
  }

  async function noHorizontalOverflow(page: Page): Promise<void> {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  }

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    for (const javaScript of [true, false]) {
      const js = javaScript ? 'JavaScript on' : 'JavaScript off';
      it(`shows a mapped group with its photo, owner, Teams buttons, QR code and join command, and changes nothing (${label}, ${js})`, async () => {
        const before = await teams.groups.getGroup(mapped.id);
        const auditBefore = await teams.groups.auditTrail(mapped.id);
        const { context, page, response, errors } = await open(mappedInvite.url, { viewport, javaScript });
        try {
          assert.equal(response?.status(), 200);
          assert.match(response?.headers()['x-robots-tag'] ?? '', /noindex/);
          const body = await response!.body();
          assert.ok(body.length < 30 * 1024, `the page is ${body.length} bytes`);

          assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), name);
          assert.match(await page.locator('.meta').innerText(), /^2 members/);
          assert.equal(await page.locator('.owner').innerText(), `Owned by ${ORGANIZATION}`);
          const photo = page.locator('img.photo');
          assert.ok(
            await photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0),
            'group photo loads (same origin, allowed by the CSP)',
          );

          // Open Graph preview, unchanged.
          assert.equal(await page.locator('meta[property="og:title"]').getAttribute('content'), `Join ${name}`);
          assert.match(
            (await page.locator('meta[property="og:description"]').getAttribute('content')) ?? '',
            /^2 members\. Owned by Contoso/,
          );
          assert.equal(await page.locator('meta[property="og:url"]').getAttribute('content'), mappedInvite.url);

          const command = `join ${mappedInvite.url}`;
          const open = page.getByRole('link', { name: 'Open in Teams' });
          assert.equal(
            await open.getAttribute('href'),
            `https://teams.microsoft.com/l/chat/0/0?users=28:${BOT_APP_ID}&message=${encodeURIComponent(command)}`,
          );
          assert.ok(await open.isVisible());
          assert.equal(await page.getByRole('link', { name: 'Get Microsoft Teams' }).getAttribute('href'), GET_TEAMS_URL);
          assert.equal(
            await page.getByRole('link', { name: 'Add the app to Teams' }).getAttribute('href'),
            `https://teams.microsoft.com/l/app/${TEAMS_APP_ID}`,
          );
          assert.equal(await page.locator('#app-id').innerText(), TEAMS_APP_ID, 'what to tell IT names the app id');
          assert.match(await page.locator('main').innerText(), /Ask your IT department to allow the Kaizala Groups app/);
          assert.match(await page.locator('main').innerText(), /Anyone with this link/);

          const qr = page.locator('img#qr');
          assert.equal(await qr.getAttribute('src'), await inviteQrDataUrl(mappedInvite.url), 'the QR code is the invite link');
          assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR code renders');

          assert.equal(await page.locator('#cmd').innerText(), command);
          const copy = page.getByRole('button', { name: 'Copy' });
          if (javaScript) {
            assert.ok(await copy.isVisible(), 'the copy button shows when JavaScript runs');
            await copy.click();
            await page.getByRole('button', { name: 'Copied' }).waitFor();
            assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
          } else {
            assert.equal(await copy.count(), 0, 'no dead copy button without JavaScript');
          }
          if (viewport === PHONE) await noHorizontalOverflow(page);
          assert.deepEqual(errors, [], 'no console errors (a CSP violation would be one)');
        } finally {
          await context.close();
        }
        // Link scanners and unfurlers fetch this page: loading it must not join anyone or change anything.
        assert.deepEqual(await teams.groups.getGroup(mapped.id), before);
        assert.deepEqual(await teams.groups.auditTrail(mapped.id), auditBefore);
      });
    }

    it(`says how to join locally for an unmapped group without an app id (${label})`, async () => {
      const { context, page, response } = await open(unmappedInvite.url, { viewport, javaScript: true });
      try {
        assert.equal(response?.status(), 200);
        assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Night shift');
        assert.match(await page.locator('.meta').innerText(), /^1 member · A group on Microsoft Teams$/);
        assert.equal(await page.locator('.owner').count(), 0);
        assert.equal(await page.getByRole('link', { name: 'Open in Teams' }).count(), 0);
        assert.match(await page.locator('#local').innerText(), /send the message below to the bot/);
        assert.equal(await page.locator('.initial').innerText(), 'N', 'no photo: the initial');
        assert.equal(await page.locator('#cmd').innerText(), `join ${unmappedInvite.url}`);
        if (viewport === PHONE) await noHorizontalOverflow(page);
      } finally {
        await context.close();
      }
    });

    it(`answers a link that was never valid with a styled 404 (${label})`, async () => {
      const { context, page, response } = await open(`${teams.url}/join/AAAAAAAAAAAAAAAAAAAAAA`, { viewport, javaScript: false });
      try {
        assert.equal(response?.status(), 404);
        assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /not valid/);
        assert.equal(await page.locator('a.brand').count(), 1, 'styled like the landing page');
        if (viewport === PHONE) await noHorizontalOverflow(page);
      } finally {
        await context.close();
      }
    });

    it(`answers a reset link with a styled 410 that says to ask for the new one (${label})`, async () => {
      const other = await teams.createGroup(alice, `Reset me ${label}`);
      const old = await teams.groups.getInvite(other.id, alice);
      await teams.groups.resetInviteLink(other.id, alice);
      const { context, page, response } = await open(old.url, { viewport, javaScript: true });
      try {
        assert.equal(response?.status(), 410);
        assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /was reset/);
        assert.match(await page.locator('main').innerText(), /Ask the person who sent it to you for the new one/);
        assert.doesNotMatch(await page.content(), new RegExp(other.name), 'nothing about the group');
      } finally {
        await context.close();
      }
    });
  }

  it('keeps only a hash of a reset link, never the link', async () => {
    const other = await teams.createGroup(alice, 'Hash only');
    const old = await teams.groups.getInvite(other.id, alice);
    await teams.groups.resetInviteLink(other.id, alice);
    const rows = [];
    for await (const row of teams.tables.invites.listEntities()) rows.push(row);
    const revoked = rows.filter((r) => r.rowKey === 'revoked');
    assert.ok(revoked.length >= 1);
    assert.ok(!JSON.stringify(rows).includes(old.token), 'no invite row holds a token');
    assert.ok(revoked.every((r) => /^[0-9a-f]{64}$/.test(r.partitionKey!) && r['groupId'] === undefined));
  });

  it('does not show "you were removed": a link does not say who opens it, so a removed member sees the group page', async () => {
    const bob = teams.newUser('Bob Removed');
    await teams.joinGroup(mapped, alice, bob);
    await teams.groups.removeMember(mapped.id, { user: alice }, bob.id);
    const res = await fetch(mappedInvite.url);
    assert.equal(res.status, 200);
  });

  for (const [path, heading] of [
    ['/', /Move your work groups to Microsoft Teams/],
    ['/privacy', /^Privacy$/],
    ['/terms', /^Terms of use$/],
  ] as const) {
    it(`serves the ${path} page the manifest links to, styled like the landing page`, async () => {
      const { context, page, response } = await open(`${teams.url}${path}`, { viewport: PHONE, javaScript: false });
      try {
        assert.equal(response?.status(), 200);
        assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
        assert.match(await page.getByRole('heading', { level: 1 }).innerText(), heading);
        assert.equal(await page.locator('a.brand').count(), 1);
        if (path === '/privacy') {
          const text = await page.locator('main').innerText();
          assert.match(text, /kept until the group is deleted/);
          assert.match(text, /export <group>/);
          assert.match(text, /leave/);
        }
        await noHorizontalOverflow(page);
      } finally {
        await context.close();
      }
    });
  }
});
