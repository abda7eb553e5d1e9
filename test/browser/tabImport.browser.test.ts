import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Group } from '../../src/groups/model';
import { fixture } from '../import/exportFixtures';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { openTab } from './tabPage';

/**
 * "Import earlier messages" in the Teams tab, in headless Chromium against the real server, the real import API
 * and Azurite: the admin chooses an export, sees the preview, confirms or changes who each sender is, imports,
 * and undoes; a member reads the imported history, the export's text shown as text.
 */
describe('Teams tab: importing earlier messages in a browser', function () {
  this.timeout(90_000);
  let browser: Browser;
  let h: WebHarness;
  let ann: TestUser;
  let bob: TestUser;
  let depot: Group;

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, h] = await Promise.all([launchChromium(), startWebHarness({ allowTestHooks: true })]);
    ann = h.newUser('Ann Lee');
    bob = h.newUser('Bob Stone');
    depot = await h.createGroup(ann, 'Depot North');
    await h.joinGroup(depot, ann, bob);
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('previews, imports with the senders the admin confirmed or changed, shows the history to a member, and undoes', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const { page, problems } = await openTab(h, context, ann, { refuseDialogs: true });
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Depot North/ })
        .click();
      await page.getByRole('heading', { name: 'Import earlier messages' }).waitFor();
      const status = page.locator('#import-status');

      // Not an export: one clear line, nothing stored.
      await page
        .locator('#import-file')
        .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Dear team,\nminutes below.\n') });
      await page.getByRole('button', { name: 'Preview', exact: true }).click();
      await page.getByText('This does not look like a WhatsApp or Telegram export.').waitFor();
      assert.equal(await page.locator('#import-preview').isHidden(), true);

      await page.locator('#import-file').setInputFiles({
        name: 'WhatsApp Chat with Depot North.txt',
        mimeType: 'text/plain',
        buffer: fixture('whatsapp-android-us.txt'),
      });
      await page.locator('#import-zone').fill('America/New_York');
      await page.getByRole('button', { name: 'Preview', exact: true }).click();
      await page.getByRole('button', { name: 'Import 6 messages' }).waitFor();
      const facts = await page.locator('#import-preview dl').innerText();
      for (const expected of ['Messages found\n9', 'To import\n6', '2 system lines, 1 deleted message', 'America/New_York', 'month first'])
        assert.ok(facts.includes(expected), `${expected} in ${facts}`);
      assert.deepEqual(await h.imports.history(depot.id, ann.id), { messages: [], groupName: 'Depot North' }, 'the preview stores nothing');

      // The suggestions are selected; the admin keeps Ann, makes Bob Stone no member, and says Cy Park is Bob.
      const select = (sender: string) => page.locator(`select[data-sender="${sender}"]`);
      assert.equal(await select('Ann Lee').inputValue(), ann.id);
      assert.equal(await select('Bob Stone').inputValue(), bob.id);
      assert.equal(await select('Cy Park').inputValue(), '');
      await select('Bob Stone').selectOption('');
      await select('Cy Park').selectOption(bob.id);
      await page.getByRole('button', { name: 'Import 6 messages' }).click();
      await page.getByText('Imported. The group got one post about it.').waitFor();
      assert.match(await page.locator('#import-list').innerText(), /WhatsApp: WhatsApp Chat with Depot North\.txt · 6 messages/);
      const stored = await h.imports.history(depot.id, ann.id);
      assert.deepEqual(
        stored.messages.map((m) => [m.sender, m.member?.userId ?? '']),
        [
          ['Ann Lee', ann.id],
          ['Bob Stone', ''],
          ['Ann Lee', ann.id],
          ['Bob Stone', ''],
          ['Cy Park', bob.id],
          ['Ann Lee', ann.id],
        ],
      );

      // A member reads them: marked imported, the export's text as text.
      const bobContext = await offlineContext(browser, { viewport: DESKTOP });
      try {
        const bobTab = await openTab(h, bobContext, bob, { refuseDialogs: true });
        await bobTab.page
          .locator('#group-list')
          .getByRole('button', { name: /Depot North/ })
          .click();
        assert.equal(await bobTab.page.locator('#import-file').count(), 0, 'members do not import');
        await bobTab.page.getByRole('button', { name: 'Show imported earlier messages' }).click();
        const items = bobTab.page.locator('#imported-posts li.post');
        await items.first().waitFor();
        assert.equal(await items.count(), 6);
        const cy = items.filter({ hasText: 'where they were Cy Park' });
        assert.equal(await cy.locator('.post-sender').innerText(), 'Bob Stone');
        const hostile = items.filter({ hasText: 'not bold' });
        assert.equal(await hostile.locator('.post-text').textContent(), '**not bold** <b>x</b> [link](https://evil.example)');
        assert.equal(await hostile.locator('a, b, strong:not(.post-sender)').count(), 0);
        assert.match(await items.first().innerText(), /imported from WhatsApp/);
        assert.ok(await items.first().locator('time').getAttribute('datetime'));
        assert.deepEqual(bobTab.problems, []);
      } finally {
        await bobContext.close();
      }

      // Undo: asked in the page, then gone as a whole.
      await page.locator('#import-list').getByRole('button', { name: 'Undo' }).click();
      await page.getByRole('button', { name: 'Yes, remove 6 messages' }).click();
      await status.getByText(/Removed the import of WhatsApp Chat with Depot North\.txt: 6 messages\./).waitFor();
      assert.deepEqual((await h.imports.history(depot.id, ann.id)).messages, []);
      // The browser logs the refused upload's 400 (the file that was not an export); nothing else went wrong.
      assert.deepEqual(problems, ['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    } finally {
      await context.close();
    }
  });
});
