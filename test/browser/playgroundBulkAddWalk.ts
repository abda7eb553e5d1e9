/**
 * Bulk add (issue 18) in the Microsoft 365 Agents Playground, as an admin would use it from chat, driven by
 * headless Chromium. Run by test/browser/playgroundBulkAdd.browser.test.ts INSIDE `unshare -n` (the playground
 * listens on every interface and its telemetry SDK tries to reach out):
 *
 *   unshare -n bash -c 'ip link set lo up && exec node --import tsx test/browser/playgroundBulkAddWalk.ts \
 *     --screenshots build/screenshots --result build/playground/bulkadd-result.json'
 *
 * The playground's user (Alex Wilber) types `new group Depot Crew`, skips the photo, then `add people`: the card's
 * box gets 20 addresses of the built-in sample directory (no app registration, so no Graph): the 18 other
 * people of his organization (two of them by mobile number), a guest account and an address nobody has. He checks
 * the list (nothing changes), clicks Add 18 people, and the report arrives in his chat.
 *
 * What the playground can show: it knows six people (Alex and five mock users), so only those five can be
 * welcomed there; the chats the bot opens for the other thirteen answer "User not found" to the welcome, and
 * the report says so ("added, not reached"). The welcomes to the five go to chats the page does not show (they
 * are not Alex's); its log panel lists each, which the walk shows.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openPlaygroundSession, runWalkProcess, type WalkOutcome, type WalkProcess } from './playgroundSession';

/** The report waits for the welcomes: the refused ones are retried (about 15 s) before they count as refused. */
const STEP_TIMEOUT_MS = 90_000;
export const SCREENSHOT_PREFIX = 'bulkadd-';
export const GROUP_NAME = 'Depot Crew';

/** The sample directory's people but Alex (the admin) and the guest: by email, two by mobile number. */
export const ADDRESSES = [
  'meganb@example.com',
  'adelev@example.com',
  'isaiah@example.com',
  'pattif@example.com',
  'lynner@example.com',
  '+1 425 555 0106',
  'gradya@example.com',
  'henriettam@example.com',
  'johannal@example.com',
  'jonis@example.com',
  'leeg@example.com',
  'lidiah@example.com',
  'miriamg@example.com',
  'nestorw@example.com',
  '+91 98555 00115',
  'raulr@example.com',
  'alans@example.com',
  'christiec@example.com',
  'kai_partner.example#ext#@example.com',
  'someone.new@example.com',
];
/** The playground's mock users among them: the only people its connector can welcome. */
export const PLAYGROUND_PEOPLE = ['Megan Bowen', 'Adele Vance', 'Isaiah Langer', 'Patti Fernandez', 'Lynne Robbins'];

export interface BulkAddResult extends WalkOutcome {
  groupId?: string;
  /** The dry run card's text, and the group's member count right after it (nothing may have changed). */
  dryRunText?: string;
  membersAfterDryRun?: number;
  /** The finished report as the chat showed it. */
  reportText?: string;
  membersAfterJob?: number;
  /** Lines of the playground's log panel that show a welcome ("... added you to Depot Crew"). */
  welcomeLinesInLogPanel?: number;
  /** The bot's record of each welcome (`bulk|<group>|<person>` -> state). */
  welcomeStates?: Record<string, string>;
}

const result: BulkAddResult = { ok: false, steps: [], botProblems: [], pageProblems: [], durationMs: 0 };

async function walk({ args, held, log, started }: WalkProcess): Promise<void> {
  mkdirSync(args.screenshots!, { recursive: true });
  mkdirSync(path.dirname(args.result!), { recursive: true });
  for (const file of readdirSync(args.screenshots!)) {
    if (file.startsWith(SCREENSHOT_PREFIX)) rmSync(path.join(args.screenshots!, file), { force: true });
  }
  const { app, page, pgUrl, cards, screenshot, newCardWith, say } = await openPlaygroundSession({
    record: result,
    held,
    botLogFile: path.join(path.dirname(args.result!), 'bulkadd-bot.log'),
    screenshots: args.screenshots!,
    screenshotPrefix: SCREENSHOT_PREFIX,
    stepTimeoutMs: STEP_TIMEOUT_MS,
    startedAt: started,
    log,
  });
  const chatMessages = page.locator('div:has([aria-label="Message header"])');

  await page.goto(`${pgUrl}/`, { waitUntil: 'domcontentloaded' });
  await cards.filter({ hasText: 'Welcome to Kaizala Groups' }).first().waitFor({ timeout: 40_000 });
  const owner = (
    (await page.evaluate(async () => (await fetch('/_internal/v1/config')).json())) as {
      config: { currentUser: { aadObjectId: string; name: string } };
    }
  ).config.currentUser;

  // 1. The group, in one line; no photo.
  let before = await cards.count();
  await say(`new group ${GROUP_NAME}`);
  const askPhoto = await newCardWith(before, 'A photo for');
  before = await cards.count();
  await askPhoto.getByRole('button', { name: 'Skip' }).click();
  await newCardWith(before, 'Invite People');
  await screenshot('group-created');
  const groupId = (await app.groups.listMyGroups(owner.aadObjectId)).items[0]?.group.id;
  if (!groupId) throw new Error('no group in storage');
  result.groupId = groupId;
  const memberCount = async () => (await app.groups.getGroup(groupId)).memberCount;

  // 2. `add people`: the card's box, filled with the 20 addresses.
  before = await cards.count();
  await say('add people');
  const addCard = await newCardWith(before, `Add people to ${GROUP_NAME}`);
  await addCard.locator('textarea').fill(ADDRESSES.join('\n'));
  await addCard.scrollIntoViewIfNeeded();
  await screenshot('add-people-card-filled');

  // 3. Check the list: every row's outcome, counts, and nothing changed.
  before = await cards.count();
  await addCard.getByRole('button', { name: 'Check the list' }).click();
  const plan = await newCardWith(before, `Check: ${GROUP_NAME}`);
  result.dryRunText = (await plan.innerText()).trim();
  result.membersAfterDryRun = await memberCount();
  await plan.scrollIntoViewIfNeeded();
  await screenshot('dry-run');

  // 4. Add: the progress card, then the report (once the welcomes are settled).
  const addButton = plan.getByRole('button', { name: /^Add \d+ people$/ });
  await addButton.click();
  const report = chatMessages.filter({ hasText: `Bulk add to ${GROUP_NAME} is done.` }).last();
  await report.waitFor();
  result.reportText = (await report.innerText()).trim();
  result.membersAfterJob = await memberCount();
  await report.scrollIntoViewIfNeeded();
  await screenshot('report');

  // 5. The welcomes the playground's log panel lists (it logs every call the bot makes to its connector).
  const welcomeLines = page.getByText(new RegExp(`added you to \\W*${GROUP_NAME}`));
  result.welcomeLinesInLogPanel = await welcomeLines.count();
  if (result.welcomeLinesInLogPanel > 0) await welcomeLines.last().scrollIntoViewIfNeeded();
  await screenshot('welcomes-in-log-panel');

  result.welcomeStates = {};
  for await (const row of app.tables.deliveries.listEntities<{ st: string }>({
    queryOptions: { filter: `PartitionKey eq 'oneoff'` },
  })) {
    const key = decodeURIComponent(row.rowKey!);
    if (key.startsWith(`bulk|${groupId}|`)) result.welcomeStates[key] = row.st;
  }
  result.ok = true;
}

runWalkProcess('bulkadd', 'bulkadd-result.json', result, walk);
