/**
 * The acceptance walkthrough in the Microsoft 365 Agents Playground, driven by headless Chromium the way
 * a new user would click through it. Run by test/browser/playground.browser.test.ts INSIDE `unshare -n` (a
 * network namespace with only loopback): the playground listens on every interface and its telemetry SDK tries
 * to reach out, so it must never run outside one.
 *
 *   unshare -n bash -c 'ip link set lo up && exec node --import tsx test/browser/playgroundWalkthrough.ts \
 *     --screenshots build/screenshots --result build/playground/result.json'
 *
 * It starts the bot in process (in-memory Azurite), the playground (child process, by PID) and Chromium, walks:
 * new group -> name -> photo -> Group Info -> Invite People -> Reset link (confirm) -> a second user joins ->
 * Group Info shows 2 members, takes a screenshot at each step and writes a JSON result. It exits 0 when it
 * could write a result (the test asserts on it), 2 when it could not even start.
 *
 * Facts about the playground this relies on (0.2.28, read from its bundle and measured):
 * - The composer sends text only: its "+" opens message-extension commands, there is no file picker, and the
 *   server's POST /v1/conversations/:id/messages accepts `text` or card attachments, nothing else. So the photo
 *   is sent the one way the playground allows: Mock an Activity > Custom activity, a message whose attachment
 *   is `image/png` with a `data:image/png;base64,...` contentUrl (the playground forwards the JSON as it is).
 * - "Mock an Activity > Add user" only sends a conversationUpdate (membersAdded); it does not let you type as
 *   someone else. A second user speaks through a Custom activity with another `from` (one of the playground's
 *   mock users from GET /_internal/v1/config), here in its "Group Chat", with the bot @mentioned as in Teams.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { openPlaygroundSession, runWalkProcess, type WalkProcess } from './playgroundSession';

const STEP_TIMEOUT_MS = 15_000;

export const GROUP_NAME = 'Field Sales North';

export interface WalkthroughStep {
  name: string;
  screenshot: string;
  /** Milliseconds since the walkthrough started. */
  atMs: number;
}

export interface WalkthroughResult {
  ok: boolean;
  error?: string;
  steps: WalkthroughStep[];
  groupId?: string;
  inviteLink?: string;
  joinCode?: string;
  resetInviteLink?: string;
  resetJoinCode?: string;
  /** True when the Invite card showed a QR code image. */
  qrShown?: boolean;
  /** naturalWidth of the group photo as the browser loaded it from the bot (0 when it did not load). */
  photoWidthInBrowser?: number;
  /** From the bot's storage after the walkthrough. */
  memberCount?: number;
  storedPhotoBytes?: number;
  /** The member count as Group Info showed it at the end. */
  groupInfoMembersText?: string;
  secondUser?: { id: string; name: string };
  /** Cards in the owner's chat that still show the revoked link right after the reset (stale cards). */
  cardsStillShowingOldLink?: number;
  /** Welcome cards the bot posted when the playground added it to its Group Chat. */
  groupChatWelcomeCards?: number;
  /** Warnings and errors the bot logged. */
  botProblems: string[];
  /** Problems the page reported (console errors, page errors), font CDN failures left out. */
  pageProblems: string[];
  durationMs: number;
}

const result: WalkthroughResult = { ok: false, steps: [], botProblems: [], pageProblems: [], durationMs: 0 };

/** A small, recognisable PNG: the "photo" a field manager would attach. */
async function groupPhotoPng(): Promise<Buffer> {
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" fill="#f28c28"/>' +
      '<circle cx="48" cy="40" r="20" fill="#1e5aa8"/><rect x="18" y="66" width="60" height="16" rx="8" fill="#1e5aa8"/></svg>',
  );
  return sharp(svg).png({ palette: true }).toBuffer();
}

async function walk({ args, held, log, started }: WalkProcess): Promise<void> {
  mkdirSync(args.screenshots!, { recursive: true });
  mkdirSync(path.dirname(args.result!), { recursive: true });

  const { app, page, pgUrl, cards, screenshot, newCardWith, say } = await openPlaygroundSession({
    record: result,
    held,
    botLogFile: path.join(path.dirname(args.result!), 'bot.log'),
    screenshots: args.screenshots!,
    stepTimeoutMs: STEP_TIMEOUT_MS,
    startedAt: started,
    log,
  });
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
    // One line: typing multi-line JSON makes the editor auto-indent and auto-close brackets.
    await page.keyboard.insertText(JSON.stringify(activity));
    await page.waitForTimeout(300);
    // Some activities (an @mention) switch the dialog to a form view; the JSON tab still holds what we typed.
    const jsonTab = page.getByRole('dialog').getByRole('tab', { name: 'JSON' });
    if (await jsonTab.count()) {
      await jsonTab.click();
      await page.waitForTimeout(300);
    }
    await screenshot(shotName);
    await page.getByRole('button', { name: 'Send activity' }).click();
    await page.getByRole('button', { name: 'Send activity' }).waitFor({ state: 'detached' });
  };

  await page.goto(`${pgUrl}/`, { waitUntil: 'domcontentloaded' });
  await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor();
  // Who the playground says we are, and its other (mock) users.
  const pgConfig = (await page.evaluate(async () => (await fetch('/_internal/v1/config')).json())) as {
    config: {
      bot: { id: string; name: string };
      currentUser: { id: string; name: string; aadObjectId: string };
      users: Array<{ id: string; name: string; aadObjectId: string }>;
    };
  };
  const owner = pgConfig.config.currentUser;

  // 1. "new group": the bot asks for the name.
  let before = await cards.count();
  await say('new group');
  const askName = await newCardWith(before, 'What is the group called?');
  await screenshot('ask-group-name');

  // 2. The name, typed into the card, then Next: the bot asks for a photo.
  await askName.getByLabel('Group name').fill(GROUP_NAME);
  before = await cards.count();
  await askName.getByRole('button', { name: 'Next' }).click();
  await newCardWith(before, 'A photo for');
  await screenshot('ask-group-photo');

  // 3. The photo: the playground's composer cannot attach files, so a Custom activity carries it inline.
  const png = await groupPhotoPng();
  before = await cards.count();
  await customActivity(
    (template) => ({
      ...template,
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      type: 'message',
      // The template's `from` has no name; Teams always sends one.
      from: { ...(template.from as Record<string, unknown>), name: owner.name },
      text: '',
      attachments: [
        { contentType: 'image/png', contentUrl: `data:image/png;base64,${png.toString('base64')}`, name: 'field-sales-north.png' },
      ],
    }),
    'photo-as-custom-activity',
  );
  const info = await newCardWith(before, 'Invite People');
  const photo = info.locator('img[src*="/photo?v="]').first();
  await photo.waitFor();
  await page.waitForFunction((img) => (img as HTMLImageElement).complete, await photo.elementHandle());
  result.photoWidthInBrowser = await photo.evaluate((img) => (img as HTMLImageElement).naturalWidth);
  await page
    .getByText(/is ready\. Next: Invite People/)
    .last()
    .waitFor();
  await screenshot('group-info-created');
  const invitePeople = info.getByRole('button', { name: 'Invite People' });

  // 4. Invite People: link, join code, QR code, share buttons.
  before = await cards.count();
  await invitePeople.click();
  const invite = await newCardWith(before, 'Join code');
  const inviteText = await invite.innerText();
  result.inviteLink = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(inviteText)?.[0];
  result.joinCode = /\b[0-9A-Z]{5}-[0-9A-Z]{5}\b/.exec(inviteText)?.[0];
  result.qrShown = (await invite.locator('img[src^="data:image/png"]').count()) > 0;
  await invite.scrollIntoViewIfNeeded();
  await screenshot('invite-card');

  // 5. Reset link, confirm: the old link and code stop working, a new link is shown.
  before = await cards.count();
  await invite.getByRole('button', { name: 'Reset link' }).click();
  const confirm = await newCardWith(before, 'Reset the invite link?');
  await screenshot('reset-link-confirm');
  before = await cards.count();
  await confirm.getByRole('button', { name: 'Reset link' }).click();
  const fresh = await newCardWith(before, 'Join code');
  await page
    .getByText(/no longer work/)
    .last()
    .waitFor();
  const freshText = await fresh.innerText();
  result.resetInviteLink = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(freshText)?.[0];
  result.resetJoinCode = /\b[0-9A-Z]{5}-[0-9A-Z]{5}\b/.exec(freshText)?.[0];
  await fresh.scrollIntoViewIfNeeded();
  await screenshot('reset-link-done');
  if (result.inviteLink) result.cardsStillShowingOldLink = await cards.filter({ hasText: result.inviteLink }).count();
  if (!result.resetInviteLink) throw new Error(`no new invite link after the reset: ${freshText}`);

  // 6. A second user joins with the new link: a playground mock user, in the playground's Group Chat.
  const second = pgConfig.config.users[0]!;
  result.secondUser = { id: second.aadObjectId, name: second.name };
  const bot = pgConfig.config.bot;
  await page.getByText('Group Chat', { exact: true }).first().click();
  // Opening a chat the bot is not yet in installs it there: wait for its welcome before doing anything.
  await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor();
  await page.waitForTimeout(500);
  before = await cards.count();
  await customActivity(
    (template) => ({
      ...template,
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      type: 'message',
      from: { id: second.id, name: second.name, aadObjectId: second.aadObjectId },
      text: `<at>${bot.name}</at> join ${result.resetInviteLink}`,
      textFormat: 'plain',
      entities: [{ type: 'mention', mentioned: { id: bot.id, name: bot.name }, text: `<at>${bot.name}</at>` }],
    }),
    'second-user-joins-as-custom-activity',
  );
  await newCardWith(before, GROUP_NAME);
  await page
    .getByText(/joined|welcome/i)
    .last()
    .waitFor();
  result.groupChatWelcomeCards = await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).count();
  await screenshot('second-user-joined');

  // 7. Back in the owner's chat: the admin notice, then Group Info with 2 members.
  await page.getByText('Personal Chat', { exact: true }).first().click();
  await cards
    .filter({ hasText: `${second.name} joined` })
    .last()
    .waitFor();
  await screenshot('owner-told-of-join');
  before = await cards.count();
  await say('/group info'); // the deliberate form; "group info" alone is a command too (issue 17)
  const finalInfo = await newCardWith(before, 'Invite People');
  result.groupInfoMembersText = /\b\d+ members?\b/.exec(await finalInfo.innerText())?.[0];
  await finalInfo.scrollIntoViewIfNeeded();
  await screenshot('group-info-two-members');

  // --- what the bot stored ---
  const groupId = (await app.groups.listMyGroups(owner.aadObjectId)).items[0]?.group.id;
  if (groupId) {
    result.groupId = groupId;
    result.memberCount = (await app.groups.getGroup(groupId)).memberCount;
    result.storedPhotoBytes = (await app.groups.getPhoto(groupId).catch(() => undefined))?.bytes.length;
  }
  result.ok = true;
}

runWalkProcess('walkthrough', 'result.json', result, walk);
