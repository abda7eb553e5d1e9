import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import type { Group } from '../../src/groups/model';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, PHONE, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { openTab } from './tabPage';

/**
 * A group's conversation in the Teams tab, in headless Chromium against the real server and the real posts API
 * over Azurite (tokens signed by the fake Entra, verified by the real verifier; deliveries only recorded).
 */
describe("Teams tab: a group's conversation in a browser", function () {
  this.timeout(90_000);
  let browser: Browser;
  let h: WebHarness;
  let ann: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dock: Group;

  const HOSTILE = '<img src=x onerror=alert(1)> **bold** https://evil.example';

  /** A post made through the HTTP API, as any client of it would. */
  async function apiPost(
    user: TestUser,
    group: Group,
    text: string,
    key = randomUUID(),
  ): Promise<{ status: number; post: { seq: number } }> {
    const res = await fetch(`${h.url}/api/groups/${group.id}/posts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.tokenFor(user)}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ text }),
    });
    const body = (await res.json()) as { post: { seq: number } };
    return { status: res.status, post: body.post };
  }

  async function storedTexts(group: Group): Promise<string[]> {
    const page = await h.posts.page(group.id, { pageSize: 1000 });
    return page.posts.map((p) => p.text);
  }

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, h] = await Promise.all([launchChromium(), startWebHarness({ allowTestHooks: true })]);
    ann = h.newUser('Ann Admin');
    bob = h.newUser('Bob Member');
    carol = h.newUser('Carol Quick');
    dock = await h.createGroup(ann, 'Dock team');
    await h.joinGroup(dock, ann, bob);
    await h.joinGroup(dock, ann, carol);
    // 24 posts: the newest 20 are the first page, four are earlier. Bob answers Ann's first post. The seed posts
    // go straight to storage (the rate limit would refuse 20 from one person); the others through the HTTP API.
    const first = await apiPost(ann, dock, 'post 1: shifts start at 6');
    const seed = (sender: TestUser, text: string, replyTo?: { seq: number; senderName: string; preview: string }) =>
      h.posts.accept({
        groupId: dock.id,
        sender: { userId: sender.id, name: sender.name, tenantId: sender.tid },
        text,
        createdAt: new Date().toISOString(),
        sourceKey: randomUUID(),
        replyTo,
      });
    for (let i = 2; i <= 21; i++) await seed(ann, `post ${i}`);
    await seed(bob, 'got it', { seq: first.post.seq, senderName: ann.name, preview: 'post 1: shifts start at 6' });
    const hostile = await apiPost(bob, dock, `${HOSTILE}\nsecond line`);
    assert.equal(hostile.status, 201);
    // And one deleted post, which keeps its place without its text.
    const gone = await apiPost(ann, dock, 'wrong group, sorry');
    await h.conversation.deletePost(dock.id, gone.post.seq, ann);
  });
  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  async function openGroup(context: BrowserContext, user: TestUser, group: Group): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await openTab(h, context, user, { refuseDialogs: true });
    await page
      .locator('#group-list')
      .getByRole('button', { name: new RegExp(group.name) })
      .click();
    await page.getByRole('heading', { name: 'Conversation' }).waitFor();
    await page.locator('#posts li.post').first().waitFor();
    return { page, problems };
  }

  const postTexts = (page: Page) => page.locator('#posts li.post .post-text').allTextContents();

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`shows the conversation in order with hostile text as text, and pages back with Earlier posts (${label})`, async () => {
      const context = await offlineContext(browser, { viewport });
      try {
        const { page, problems } = await openGroup(context, bob, dock);
        const list = page.locator('#posts');
        // The newest 20 of 24, oldest first: posts 5 to 21, the reply, the hostile post and the deleted one.
        let texts = await postTexts(page);
        assert.equal(texts.length, 20);
        assert.deepEqual(texts.slice(0, 3), ['post 5', 'post 6', 'post 7']);
        assert.deepEqual(texts.slice(-3), ['got it', `${HOSTILE}\nsecond line`, 'This post was deleted']);

        // Shown literally: no element was made from the text, no link, no formatting.
        const hostile = list.locator('li.post', { hasText: 'onerror' });
        assert.equal(await hostile.locator('.post-text').textContent(), `${HOSTILE}\nsecond line`);
        assert.equal(await page.locator('main img:not(.qr)').count(), 0);
        assert.equal(await hostile.locator('a, strong:not(.post-sender), b, img').count(), 0);
        assert.match(await hostile.locator('.post-sender').innerText(), /Bob Member \(you\)/);
        assert.ok(await hostile.locator('time').getAttribute('datetime'), 'the time carries its machine-readable datetime');

        const reply = list.locator('li.post', { hasText: 'got it' });
        assert.equal(await reply.locator('.post-reply').innerText(), 'replying to Ann Admin: post 1: shifts start at 6');
        assert.equal(await list.locator('li.post', { hasText: 'This post was deleted' }).locator('.post-deleted').count(), 1);

        // Earlier posts: the three before, above the others; then there is nothing earlier.
        const earlier = page.getByRole('button', { name: 'Earlier posts' });
        await earlier.click();
        await page.waitForFunction(() => document.querySelectorAll('#posts li.post').length === 24);
        texts = await postTexts(page);
        assert.deepEqual(texts.slice(0, 6), ['post 1: shifts start at 6', 'post 2', 'post 3', 'post 4', 'post 5', 'post 6']);
        const seqs = await list.locator('li.post').evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-seq'))));
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
        );
        assert.equal(await earlier.isHidden(), true);
        await page.locator('#conversation-status', { hasText: '4 earlier posts shown.' }).waitFor();

        if (viewport === PHONE) {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
        }
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });

    it(`posts from the box, once even when the first answer is lost and Send is pressed again (${label})`, async () => {
      const context = await offlineContext(browser, { viewport });
      try {
        const group = await h.createGroup(ann, `Night shift ${label}`);
        await h.joinGroup(group, ann, bob);
        await apiPost(ann, group, 'Welcome');
        const { page, problems } = await openGroup(context, bob, group);
        const box = page.getByLabel('Write a post');
        const text = `Running late\n<b>10 minutes</b> (${label})`;
        await box.fill(text);
        assert.equal(await page.locator('#compose-count').innerText(), `${Array.from(text).length} / 4,000 characters`);

        // The first send reaches the server, but its answer is lost on the way back.
        const keys: string[] = [];
        const onRequest = (request: Request) => {
          if (request.method() === 'POST' && request.url().endsWith('/posts')) keys.push(request.headers()['idempotency-key'] ?? '');
        };
        page.on('request', onRequest);
        const postsUrl = `${h.url}/api/groups/${group.id}/posts`;
        let served = 0;
        await page.route(postsUrl, async (route) => {
          if (route.request().method() !== 'POST') return route.continue();
          const response = await route.fetch();
          served = response.status();
          await route.abort('connectionreset');
        });
        await page.getByRole('button', { name: 'Send', exact: true }).click();
        await page.locator('#conversation-status', { hasText: 'Not sent. Try again.' }).waitFor();
        assert.equal(served, 201, 'the first send was stored by the server');
        assert.equal(await box.inputValue(), text, 'the text stays in the box');
        assert.deepEqual(await storedTexts(group), ['Welcome', text]);

        // Send again: the same key, so the server answers with the post it already has.
        await page.unroute(postsUrl);
        await page.getByRole('button', { name: 'Send', exact: true }).click();
        await page.locator('#conversation-status', { hasText: 'Sent.' }).waitFor();
        assert.equal(keys.length, 2);
        assert.equal(keys[0], keys[1]);
        assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
        assert.deepEqual(await storedTexts(group), ['Welcome', text], 'stored once');
        assert.deepEqual(await postTexts(page), ['Welcome', text]);
        assert.equal(await box.inputValue(), '');
        assert.equal(await page.locator('#compose-count').innerText(), '0 / 4,000 characters');

        // The next message is a new one, with a new key.
        await box.fill('On my way');
        await page.keyboard.press('Control+Enter');
        await page.locator('#posts li.post', { hasText: 'On my way' }).waitFor();
        assert.equal(keys.length, 3);
        assert.notEqual(keys[2], keys[0]);
        assert.deepEqual(await storedTexts(group), ['Welcome', text, 'On my way']);
        assert.deepEqual(
          problems.filter((p) => !/Failed to load resource/.test(p)),
          [],
        );
      } finally {
        await context.close();
      }
    });
  }

  it('says an empty conversation has no posts yet, and shows a post made meanwhile on "Check for new posts"', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const group = await h.createGroup(ann, 'Quiet corner');
      await h.joinGroup(group, ann, bob);
      const token = await h.tokenFor(bob);
      await context.addInitScript((t: string) => {
        (window as unknown as { __kaizalaTestTokenProvider: () => Promise<string> }).__kaizalaTestTokenProvider = () => Promise.resolve(t);
      }, token);
      const page = await context.newPage();
      await page.goto(`${h.url}/tab`);
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Quiet corner/ })
        .click();
      await page.getByText('No posts yet. Write the first one below.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Earlier posts' }).isHidden(), true);

      await apiPost(ann, group, 'Anyone around?');
      await page.getByRole('button', { name: 'Check for new posts' }).click();
      await page.locator('#posts li.post', { hasText: 'Anyone around?' }).waitFor();
      await page.locator('#conversation-status', { hasText: '1 new post.' }).waitFor();
      assert.equal(await page.getByText('No posts yet. Write the first one below.').isHidden(), true);
    } finally {
      await context.close();
    }
  });

  it('tells a member of an "only admins can post" group that only admins post, and keeps the text', async () => {
    const context = await offlineContext(browser, { viewport: PHONE });
    try {
      const group = await h.createGroup(ann, 'Announcements');
      await h.joinGroup(group, ann, bob);
      await h.conversation.updateSettings(group.id, ann, { onlyAdminsPost: true });
      await apiPost(ann, group, 'Office closed Friday');
      const { page, problems } = await openGroup(context, bob, group);
      await page.getByLabel('Write a post').fill('Can I come Saturday?');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page.locator('#conversation-status', { hasText: 'Only admins can post in this group' }).waitFor();
      assert.equal(await page.locator('#conversation-status').getAttribute('aria-live'), 'polite');
      assert.equal(await page.getByLabel('Write a post').inputValue(), 'Can I come Saturday?');
      assert.deepEqual(await storedTexts(group), ['Office closed Friday']);
      assert.deepEqual(
        problems.filter((p) => !/Failed to load resource/.test(p)),
        [],
      );
    } finally {
      await context.close();
    }
  });

  it('asks someone posting too fast to wait a moment, and counts characters beyond 4,000', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP });
    try {
      const group = await h.createGroup(ann, 'Busy floor');
      await h.joinGroup(group, ann, carol);
      for (let i = 1; i <= 10; i++) assert.equal((await apiPost(carol, group, `quick ${i}`)).status, 201);
      const { page, problems } = await openGroup(context, carol, group);
      const box = page.getByLabel('Write a post');
      await box.fill('eleventh');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page.locator('#conversation-status', { hasText: /You are posting too fast, wait a moment \(about \d+ seconds?\)/ }).waitFor();
      assert.equal(await box.inputValue(), 'eleventh');
      assert.equal((await storedTexts(group)).length, 10);

      // Over the limit the counter says by how much and Send refuses without asking the server.
      await box.fill('x'.repeat(4001));
      assert.equal(await page.locator('#compose-count').innerText(), '4,001 / 4,000 characters: 1 too many');
      assert.equal(await box.getAttribute('aria-invalid'), 'true');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page.locator('#conversation-status', { hasText: 'at most 4,000 characters' }).waitFor();
      assert.equal((await storedTexts(group)).length, 10);
      assert.deepEqual(
        problems.filter((p) => !/Failed to load resource/.test(p)),
        [],
      );
    } finally {
      await context.close();
    }
  });
});
