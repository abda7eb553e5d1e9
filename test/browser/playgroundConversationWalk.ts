/**
 * The group conversation (issue 10) in the Microsoft 365 Agents Playground, as two new users would use it,
 * driven by headless Chromium. Run by test/browser/playgroundConversation.browser.test.ts INSIDE `unshare -n`
 * (the playground listens on every interface and its telemetry SDK tries to reach out):
 *
 *   unshare -n bash -c 'ip link set lo up && exec node --import tsx test/browser/playgroundConversationWalk.ts \
 *     --screenshots build/screenshots --result build/playground/conversation-result.json'
 *
 * User 1 is the playground's own user; user 2 is one of its mock users (Megan Bowen), who speaks through
 * "Mock an Activity > Custom activity" with her own `from`. The walk: user 1 types `new group Field Sales North`,
 * skips the photo, opens Invite People; Megan joins with the link from a personal chat of her own; user 1 posts
 * "Truck 4 is late, ETA 5 pm" and is told "Sent to Field Sales North"; the delivery engine sends Megan her copy
 * through the playground's connector; Megan answers with the copy's Reply (an Action.Submit, as Teams sends it);
 * user 1 receives her reply as a post card ("replying to ..."), clicks Reply on it, types and sends; the bot
 * answers "You replied in Field Sales North to Megan Bowen: ...". A screenshot at each step
 * (build/screenshots/conversation-NN-<step>.png) and a JSON result the test asserts on.
 *
 * What the playground (0.2.28) can and cannot show, read from its bundle:
 * - It keeps one personal chat per user. The bot's sends to a conversation whose chat does not include the
 *   playground's own user are accepted (201 with an id) but never pushed to the page (`isOtherUserChat` in its
 *   ConversationWebsocket). So Megan's chat, and the copies the engine delivers there, cannot be shown in the
 *   chat pane. What the page does show is its log panel, which lists every call the bot makes to the
 *   playground's connector, Megan's copy included; and the bot's delivery records say which copies were sent
 *   to whom, with the activity id the playground returned. The walk records both.
 * - Megan's personal chat is created the way Teams creates a 1:1 chat with a bot (Bot Connector
 *   `POST /v3/conversations` with her as the member), on the playground's own connector, so the bot's answers
 *   to her go to a conversation the playground knows.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openPlaygroundSession, runWalkProcess, type WalkProcess } from './playgroundSession';

const STEP_TIMEOUT_MS = 20_000;
export const SCREENSHOT_PREFIX = 'conversation-';

export const GROUP_NAME = 'Field Sales North';
export const FIRST_POST = 'Truck 4 is late, ETA 5 pm';
export const MEGAN_REPLY = 'On my way';
export const OWNER_REPLY = 'Thanks Megan, see you there';

export interface ConversationStep {
  name: string;
  screenshot: string;
  /** Milliseconds since the walk started. */
  atMs: number;
}

/** One copy of a post as the bot's delivery records hold it. */
export interface DeliveredCopy {
  seq: number;
  state: string;
  /** The activity id the playground's connector returned for the copy. */
  activityId?: string;
  /** The conversation the copy went to. */
  conversationId?: string;
}

export interface ConversationResult {
  ok: boolean;
  error?: string;
  steps: ConversationStep[];
  groupId?: string;
  inviteLink?: string;
  owner?: { id: string; name: string };
  secondUser?: { id: string; name: string; conversationId: string };
  /** What the owner's chat showed after the first post. */
  sentToText?: string;
  /** Megan's copies, from the bot's delivery records. */
  meganCopies?: DeliveredCopy[];
  /** The owner's copies (Megan's reply), from the bot's delivery records. */
  ownerCopies?: DeliveredCopy[];
  /** The log panel showed the bot's send of the first post to Megan, with her as the recipient. */
  logPanelShowsMeganCopy?: boolean;
  /** The Send button's data in the card Megan received (what her Action.Submit carries). */
  meganCardReplyData?: Record<string, unknown>;
  /** Megan's copy of user 1's reply shows "replying to ...". */
  meganReplyCopyShowsReplyingTo?: boolean;
  /** The text of Megan's reply card as the owner's chat showed it. */
  meganReplyCardText?: string;
  /** The bot's answer after the owner replied from the card. */
  ownerReplyAnswer?: string;
  /** Posts of the group in storage, in order: sender name, text, the post it replies to. */
  storedPosts?: Array<{ seq: number; senderName: string; text: string; replyToSeq?: number }>;
  botProblems: string[];
  pageProblems: string[];
  durationMs: number;
}

const result: ConversationResult = { ok: false, steps: [], botProblems: [], pageProblems: [], durationMs: 0 };

/** Polls `read` until it returns a value (storage is read, never the clock, for the outcome). */
async function eventually<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function walk({ args, held, log, started }: WalkProcess): Promise<void> {
  mkdirSync(args.screenshots!, { recursive: true });
  mkdirSync(path.dirname(args.result!), { recursive: true });
  for (const file of readdirSync(args.screenshots!)) {
    if (file.startsWith(SCREENSHOT_PREFIX)) rmSync(path.join(args.screenshots!, file), { force: true });
  }

  const { app, page, pgPort, pgUrl, cards, screenshot, newCardWith, say } = await openPlaygroundSession({
    record: result,
    held,
    botLogFile: path.join(path.dirname(args.result!), 'conversation-bot.log'),
    screenshots: args.screenshots!,
    screenshotPrefix: SCREENSHOT_PREFIX,
    stepTimeoutMs: STEP_TIMEOUT_MS,
    startedAt: started,
    log,
  });
  /** Mock an Activity > Custom activity: the playground forwards the JSON to the bot as it is. */
  const customActivity = async (build: (template: Record<string, unknown>) => Record<string, unknown>, shotName: string) => {
    await page.getByRole('button', { name: /Mock an Activity/ }).click();
    const templateResponse = page.waitForResponse((r) => r.url().includes('/customActivities/template'));
    await page.getByRole('menuitem', { name: 'Custom activity', exact: true }).click();
    const template = (await (await templateResponse).json()) as Record<string, unknown>;
    const activity = build(template);
    const editor = page.getByRole('dialog').locator('.monaco-editor').first();
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // One field a line so the screenshot shows who sends what (nested values stay on their line). The editor
    // closes the opening brace by itself, after the cursor: whatever follows the inserted text is removed.
    await page.keyboard.insertText(
      `{\n${Object.entries(activity)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
        .join(',\n')}\n}`,
    );
    await page.keyboard.press('Control+Shift+End');
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+Home');
    const jsonTab = page.getByRole('dialog').getByRole('tab', { name: 'JSON' });
    if (await jsonTab.count()) await jsonTab.click();
    await page.getByRole('dialog').getByText(String(activity.id)).first().waitFor();
    await screenshot(shotName);
    const sent = page.waitForRequest((r) => r.url().endsWith('/customActivities') && r.method() === 'POST');
    await page.getByRole('button', { name: 'Send activity' }).click();
    await sent;
    await page.getByRole('button', { name: 'Send activity' }).waitFor({ state: 'detached' });
  };

  /** The bot's messages in the chat pane (the log panel has no message headers). */
  const chatMessages = page.locator('div:has([aria-label="Message header"])');
  /** A line of the playground's log panel (every call between the bot and the playground). */
  const logPanelLine = (text: string) => page.getByText(text).last();
  /**
   * Finds, in the log panel, the bot's send of a post copy to `recipient` whose text has `postText`, clicks it
   * and returns the activity the details pane shows. A copy is a card without text, so its line reads just
   * "message 201"; the newest such lines are tried first.
   */
  const openLoggedCopy = async (recipient: string, postText: string): Promise<Record<string, unknown>> => {
    const details = () => page.evaluate(readLogDetails);
    return eventually(`the log panel line of ${recipient}'s copy of "${postText}"`, async () => {
      const links = page.getByText('message 201', { exact: true });
      const count = await links.count();
      let previous = JSON.stringify((await details()) ?? null);
      for (let i = count - 1; i >= Math.max(0, count - 8); i--) {
        await links.nth(i).click();
        // The pane re-renders on the click: poll (briefly) until it shows another activity, or go on with it.
        let shown = await details();
        for (let polls = 0; polls < 10 && JSON.stringify(shown ?? null) === previous; polls++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          shown = await details();
        }
        previous = JSON.stringify(shown ?? null);
        const to = (shown?.recipient as { name?: string } | undefined)?.name;
        if (shown && to === recipient && JSON.stringify(shown.attachments ?? []).includes(postText)) return shown;
      }
      return undefined;
    });
  };

  await page.goto(`${pgUrl}/`, { waitUntil: 'domcontentloaded' });
  await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor({ timeout: 40_000 });
  const pgConfig = (await page.evaluate(async () => (await fetch('/_internal/v1/config')).json())) as {
    config: {
      bot: { id: string; name: string };
      currentUser: { id: string; name: string; aadObjectId: string };
      users: Array<{ id: string; name: string; aadObjectId: string }>;
    };
  };
  const owner = pgConfig.config.currentUser;
  const bot = pgConfig.config.bot;
  const megan = pgConfig.config.users.find((u) => u.name === 'Megan Bowen') ?? pgConfig.config.users[0]!;
  result.owner = { id: owner.aadObjectId, name: owner.name };

  // 1. User 1 creates the group in one line, and skips the photo.
  let before = await cards.count();
  await say(`new group ${GROUP_NAME}`);
  const askPhoto = await newCardWith(before, 'A photo for');
  await screenshot('new-group-asks-photo');
  before = await cards.count();
  await askPhoto.getByRole('button', { name: 'Skip' }).click();
  const info = await newCardWith(before, 'Invite People');
  await page
    .getByText(/is ready\. Next: Invite People/)
    .last()
    .waitFor();
  await screenshot('group-created');

  // 2. Invite People: the link to give Megan.
  before = await cards.count();
  await info.getByRole('button', { name: 'Invite People' }).click();
  const invite = await newCardWith(before, 'Join code');
  result.inviteLink = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(await invite.innerText())?.[0];
  if (!result.inviteLink) throw new Error('the Invite card shows no link');
  await invite.scrollIntoViewIfNeeded();
  await screenshot('invite-card');

  // 3. Megan's personal chat with the bot, made as Teams makes a 1:1 chat with a bot (Bot Connector
  //    createConversation, on the playground's connector), then her `join <link>` in it as a Custom activity.
  const serviceUrl = `http://localhost:${pgPort}/_connector`;
  const created = await page.evaluate(
    async ({ member, botAccount }) => {
      const res = await fetch('/_connector/v3/conversations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ isGroup: false, bot: botAccount, members: [{ id: member }] }),
      });
      return (await res.json()) as { id?: string };
    },
    { member: megan.id, botAccount: bot },
  );
  if (!created.id) throw new Error('the playground made no personal chat for the second user');
  result.secondUser = { id: megan.aadObjectId, name: megan.name, conversationId: created.id };
  // What she sends first (the editor shows the start of each line): type, sender, words; then the envelope.
  const asMegan = (said: Record<string, unknown>) => (template: Record<string, unknown>) => ({
    type: 'message',
    from: { id: megan.id, name: megan.name, aadObjectId: megan.aadObjectId },
    ...said,
    conversation: { id: created.id, conversationType: 'personal' },
    ...Object.fromEntries(Object.entries(template).filter(([key]) => !['type', 'from', 'conversation', 'text', 'value'].includes(key))),
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    serviceUrl,
    recipient: { id: bot.id, name: bot.name },
  });
  await customActivity(asMegan({ text: `join ${result.inviteLink}`, textFormat: 'plain' }), 'megan-joins-as-custom-activity');
  // The playground shows the bot's welcome to Megan only in its log panel (her chat is not the page's user's);
  // the admin notice reaches user 1 through the delivery engine.
  await logPanelLine(`Welcome, ${megan.name}! You joined`).waitFor();
  await cards
    .filter({ hasText: `${megan.name} joined` })
    .last()
    .waitFor();
  await screenshot('owner-told-megan-joined');

  // 4. User 1 posts to the current group: one confirmation, no copy for the sender.
  await say(FIRST_POST);
  const sentTo = chatMessages.filter({ hasText: /Sent to Field Sales North\. Type switch to choose another group\./ }).last();
  await sentTo.waitFor();
  result.sentToText = (
    await sentTo
      .getByText(/Sent to/)
      .last()
      .innerText()
  ).trim();
  await screenshot('owner-posts-sent-to');

  // 5. Megan's copy, sent by the engine through the playground's connector. Her chat is not pushed to the page,
  //    so it is shown as the log panel shows it: the bot's call, and (clicked) the activity with its card.
  const delivered = await openLoggedCopy(megan.name, FIRST_POST);
  result.logPanelShowsMeganCopy = true;
  await screenshot('megan-copy-in-log-panel');
  // The details pane scrolls on its own: bring its end (conversation, recipient) into view.
  if (!(await page.evaluate(scrollLogDetailsTo, '"recipient"'))) throw new Error('the log details show no recipient');
  await screenshot('megan-copy-recipient-in-log-panel');
  const sendData = sendActionData(delivered);
  result.meganCardReplyData = sendData;
  const groupId = (await app.groups.listMyGroups(owner.aadObjectId)).items[0]?.group.id;
  if (!groupId) throw new Error('no group in storage');
  result.groupId = groupId;

  // 6. Megan answers with her copy's Reply: Teams sends the card's Action.Submit as a message whose `value` is
  //    the button's data (read from the card she received) plus the input.
  before = await cards.count();
  await customActivity(
    asMegan({ value: { verb: sendData.verb, replyText: MEGAN_REPLY, ...sendData } }),
    'megan-replies-as-custom-activity',
  );
  const meganReply = await newCardWith(before, MEGAN_REPLY);
  await meganReply.getByText(/replying to/).waitFor();
  result.meganReplyCardText = (await meganReply.innerText()).trim();
  await logPanelLine(`You replied in ${GROUP_NAME} to ${owner.name}: ${MEGAN_REPLY}`).waitFor();
  await meganReply.scrollIntoViewIfNeeded();
  await screenshot('owner-receives-megan-reply');

  // 7. User 1 replies on Megan's card: Reply, the inline box, Send.
  await meganReply.getByRole('button', { name: 'Reply', exact: true }).click();
  const box = meganReply.getByPlaceholder('Your reply');
  await box.waitFor();
  await box.fill(OWNER_REPLY);
  const send = meganReply.getByRole('button', { name: 'Send', exact: true });
  await send.scrollIntoViewIfNeeded();
  await screenshot('owner-types-reply');
  await send.click();
  const answer = chatMessages.filter({ hasText: `You replied in ${GROUP_NAME} to ${megan.name}: ${OWNER_REPLY}` }).last();
  await answer.waitFor();
  result.ownerReplyAnswer = (
    await answer
      .getByText(/You replied in/)
      .last()
      .innerText()
  ).trim();
  await answer.scrollIntoViewIfNeeded();
  await screenshot('owner-reply-confirmed');

  // 8. Megan's copy of that reply, as the log panel shows it.
  const replyCopy = await openLoggedCopy(megan.name, OWNER_REPLY);
  result.meganReplyCopyShowsReplyingTo = JSON.stringify(replyCopy).includes('replying to ');
  await page.evaluate(scrollLogDetailsTo, '"replying to "');
  await screenshot('megan-copy-of-reply-in-log-panel');

  // --- what the bot stored ---
  const copies = async (userId: string): Promise<DeliveredCopy[]> => {
    const out: DeliveredCopy[] = [];
    for await (const row of app!.tables.deliveries.listEntities<{ st: string; id?: string; ref?: string }>()) {
      if (!row.partitionKey!.startsWith(`${encodeURIComponent(groupId)}|`) || decodeURIComponent(row.rowKey!) !== userId) continue;
      const ref = row.ref ? (JSON.parse(row.ref) as { conversation?: { id?: string } }) : undefined;
      out.push({ seq: Number(row.partitionKey!.split('|')[1]), state: row.st, activityId: row.id, conversationId: ref?.conversation?.id });
    }
    return out.sort((x, y) => x.seq - y.seq);
  };
  result.meganCopies = await eventually("Megan's two copies recorded as sent", async () => {
    const found = await copies(megan.aadObjectId);
    return found.filter((c) => c.state === 'sent').length >= 2 ? found : undefined;
  });
  result.ownerCopies = await copies(owner.aadObjectId);
  result.storedPosts = [];
  for await (const post of app.posts.all(groupId)) {
    result.storedPosts.push({
      seq: post.seq,
      senderName: post.sender.name,
      text: post.text,
      ...(post.replyTo ? { replyToSeq: post.replyTo.seq } : {}),
    });
  }
  result.ok = true;
}

/**
 * In the page: the activity the log panel's details pane shows (the JSON after its Request/Response tabs, the
 * last thing on the page), or undefined.
 */
function readLogDetails(): Record<string, unknown> | undefined {
  const text = document.body.innerText;
  const at = text.lastIndexOf('Request\nResponse\n');
  if (at < 0) return undefined;
  const start = text.indexOf('{', at);
  let end = text.length;
  for (let tries = 0; start >= 0 && tries < 20; tries++) {
    end = text.lastIndexOf('}', end - 1);
    if (end < start) break;
    try {
      return JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
    } catch {
      // trailing text after the JSON: try the previous closing brace
    }
  }
  return undefined;
}

/** In the page: scrolls the last text in the page that has `part` (a line of the log details) to the middle. */
function scrollLogDetailsTo(part: string): boolean {
  const found = Array.from(document.querySelectorAll('span, div')).filter(
    (e) => e.children.length === 0 && (e.textContent ?? '').includes(part),
  );
  found.at(-1)?.scrollIntoView({ block: 'center' });
  return found.length > 0;
}

/** The Send button's data in a delivered post card (the Reply form's Action.Submit). */
function sendActionData(activity: Record<string, unknown>): Record<string, unknown> {
  const card = (activity.attachments as Array<{ content: { actions: Array<Record<string, unknown>> } }>)[0]!.content;
  const reply = card.actions.find((a) => a.title === 'Reply') as {
    card: { actions: Array<{ title: string; data: Record<string, unknown> }> };
  };
  return reply.card.actions.find((a) => a.title === 'Send')!.data;
}

runWalkProcess('conversation', 'conversation-result.json', result, walk);
