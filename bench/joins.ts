import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startApp, type RunningApp } from '../src/app';
import { freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { FakeChannel, type SentActivity } from '../test/helpers/fakeChannel';
import { messageActivity, testUser, type TestUser } from '../test/helpers/activities';
import { buttonData, cardsIn, textOf } from '../test/helpers/chat';
import { countsBetween, startCountingProxy, type CountingProxy, type ProxyCounts } from './countingProxy';
import { fmt, postJson, runConcurrent, startBenchAzurite, waitUntil, type RunStats } from './lib';
import { runJoinStorm } from './joinStorm';

const IN_FLIGHT = 20;
const TABLE_PREFIX = 'bench';
const TARGET_RATIO = 0.22;
const GROUP_NAME = 'Join Storm';
/** A 200-byte entity for the raw insert baseline. */
const RAW_PAYLOAD = 'x'.repeat(200);

export interface JoinsResult {
  joins: RunStats;
  rawInserts: RunStats;
  ratio: number;
  roundTripsPerJoin: number;
}

/** One bot + one Teams user talking through POST /api/messages; what the bot sent back to that user's chat. */
class Talker {
  constructor(
    private readonly app: RunningApp,
    private readonly channel: FakeChannel,
  ) {}

  conversationOf(user: TestUser): string {
    return `a:personal-${user.id}`;
  }

  async say(user: TestUser, fields: { text?: string; value?: unknown }): Promise<SentActivity[]> {
    const before = this.channel.to(this.conversationOf(user)).length;
    const status = await postJson(
      `${this.app.url}/api/messages`,
      messageActivity(this.channel.serviceUrl, user, { ...fields, id: randomUUID() }),
    );
    if (status !== 200) throw new Error(`POST /api/messages answered ${status} to ${JSON.stringify(fields)}`);
    return this.channel.to(this.conversationOf(user)).slice(before);
  }

  /** `new group <name>`, skip the photo, then the Invite card's link: the way an owner gets one in Teams. */
  async createGroupWithLink(owner: TestUser, name: string): Promise<{ groupId: string; link: string }> {
    await this.say(owner, { text: `new group ${name}` });
    const created = await this.say(owner, { value: { verb: 'skipPhoto' } });
    const groupId = String(buttonData(cardsIn(created).at(-1)!, 'showInvite').groupId);
    const invite = await this.say(owner, { value: { verb: 'showInvite', groupId } });
    const link = /https?:\/\/\S+\/join\/[A-Za-z0-9_-]{22}/.exec(textOf(invite))?.[0];
    if (!link) throw new Error(`the Invite card shows no link: ${textOf(invite).slice(0, 300)}`);
    return { groupId, link };
  }
}

/**
 * Issue 3, the join storm: `joiners` distinct users join one group through its invite link, 20 in flight, each a
 * real turn through /api/messages, against the raw insert rate of the same Azurite through the same proxy.
 */
export async function benchJoins(joiners: number): Promise<JoinsResult> {
  const azurite = await startBenchAzurite();
  const proxy = await startCountingProxy(azurite.port, TABLE_PREFIX);
  const channel = await new FakeChannel().start();
  const port = await freeLoopbackPort();
  // Tables through the counting proxy; the delivery engine's queues directly.
  const connectionString = `${proxy.connectionString}QueueEndpoint=http://127.0.0.1:${azurite.queuePort}/devstoreaccount1;`;
  const config = loadConfig({ PORT: String(port), STORAGE_CONNECTION_STRING: connectionString, LOG_LEVEL: 'silent' });
  const app = await startApp(config, { logger: createLogger({ level: 'silent' }), tablePrefix: TABLE_PREFIX });
  try {
    const talker = new Talker(app, channel);
    await warmUp(talker, channel);
    const rawInserts = await rawInsertRate(proxy, joiners);

    const owner = testUser('Storm Owner');
    const { groupId, link } = await talker.createGroupWithLink(owner, GROUP_NAME);
    // A group over 50 members tells its admins of joins in a daily digest unless they chose otherwise (group
    // types, issue 18); the bench measures the costlier choice, a notice for each join (batched).
    await app.conversation.updateSettings(groupId, { id: owner.aadObjectId, name: owner.name }, { joinNotices: 'each' });
    const ownerChat = talker.conversationOf(owner);
    const noticesBefore = channel.to(ownerChat).length;

    const countsBefore = await proxy.snapshot();
    const channelBefore = channel.sent.length;
    // The joiners and their stand-in channel run on a thread of their own, as they would be other machines.
    const storm = await runJoinStorm({ appUrl: app.url, link, groupName: GROUP_NAME, joiners, inFlight: IN_FLIGHT });
    // Every join sends its admin notice in the background, after the joiner's turn; those reads are join cost too.
    const stormEnd = Date.now();
    const joined = joiners - storm.failures.length;
    // Notices are batched per group ("Ann and 14 others joined"): wait until they have told of every joiner.
    await waitUntil(
      () => joinersTold(channel.to(ownerChat).slice(noticesBefore)) >= joined,
      120_000,
      `admin notices for ${joined} joiners`,
    );
    const noticeLagMs = Date.now() - stormEnd;
    const counts = countsBetween(countsBefore, await proxy.snapshot());
    const connectorCalls = channel.sent.length - channelBefore + storm.connectorCalls;

    const notices = channel.to(ownerChat).slice(noticesBefore);
    const problems = await membershipProblems(app, groupId, owner, storm.userIds);
    if (storm.failures.length > 0)
      problems.push(`${storm.failures.length} joins were not welcomed, e.g. ${storm.failures.slice(0, 3).join(' | ')}`);
    if (joinersTold(notices) !== joiners)
      problems.push(`the owner's ${notices.length} join notices told of ${joinersTold(notices)} joiners, not ${joiners}`);
    if (problems.length > 0) throw new Error(`join storm: ${problems.join('; ')}`);

    const ratio = storm.stats.ratePerSecond / rawInserts.ratePerSecond;
    const roundTripsPerJoin = counts.total / joiners;
    report({ joiners, storm: storm.stats, rawInserts, ratio, counts, notices, noticeLagMs, connectorCalls });
    return { joins: storm.stats, rawInserts, ratio, roundTripsPerJoin };
  } finally {
    await app.stop();
    await channel.stop();
    await proxy.close();
    await azurite.stop();
  }
}

/** JIT, connection pools and tables: one small group and a few joins, its notices delivered, before counting. */
async function warmUp(talker: Talker, channel: FakeChannel): Promise<void> {
  const owner = testUser('Warm-up Owner');
  const { link } = await talker.createGroupWithLink(owner, 'Warm Up');
  const before = channel.to(talker.conversationOf(owner)).length;
  const warm = await joinStorm(
    talker,
    Array.from({ length: 40 }, () => testUser()),
    { name: 'Warm Up', link },
  );
  if (warm.failures.length > 0) throw new Error(`warm-up joins failed: ${warm.failures.slice(0, 3).join(' | ')}`);
  await waitUntil(() => joinersTold(channel.to(talker.conversationOf(owner)).slice(before)) >= 40, 30_000, 'warm-up notices');
}

/** How many joiners a batch of admin notices told of: "Ann joined" is one, "Ann and 14 others joined" fifteen. */
function joinersTold(notices: SentActivity[]): number {
  return notices.reduce((sum, n) => {
    const others = /and (\d+) others? joined/.exec(textOf([n]))?.[1];
    return sum + 1 + (others ? Number(others) : 0);
  }, 0);
}

/** What a joiner reads when something went wrong; a fresh user is never "already a member". */
const NOT_WELCOMED = /already a member|try again|went wrong|sorry|not valid/i;

/**
 * Every user sends `join <link>` once. A turn that is not answered 200 with a reply naming the group (and no
 * apology) is a failure; the member list is checked separately.
 */
async function joinStorm(
  talker: Talker,
  users: TestUser[],
  group: { name: string; link: string },
): Promise<{ stats: RunStats; failures: string[] }> {
  const failures: string[] = [];
  const stats = await runConcurrent(users.length, IN_FLIGHT, async (i) => {
    const user = users[i]!;
    try {
      const reply = textOf(await talker.say(user, { text: `join ${group.link}` }));
      if (!reply.includes(group.name) || NOT_WELCOMED.test(reply))
        failures.push(`${user.name}: ${reply.replace(/\s+/g, ' ').slice(0, 120) || '(no reply)'}`);
    } catch (err) {
      failures.push(`${user.name}: ${(err as Error).message}`);
    }
  });
  return { stats, failures };
}

/**
 * The baseline: createEntity of a 200-byte entity, as many as there are joins, 20 in flight, through the same
 * proxy to the same Azurite (so the proxy's hop is in both figures).
 */
async function rawInsertRate(proxy: CountingProxy, total: number): Promise<RunStats> {
  const table = TableClient.fromConnectionString(proxy.connectionString, `${TABLE_PREFIX}rawinserts`, { allowInsecureConnection: true });
  await table.createTable();
  const insert = (rowKey: string) => table.createEntity({ partitionKey: 'raw', rowKey, payload: RAW_PAYLOAD });
  await runConcurrent(100, IN_FLIGHT, (i) => insert(`warm-${i}`).then(() => undefined));
  const before = await proxy.snapshot();
  const stats = await runConcurrent(total, IN_FLIGHT, (i) => insert(`row-${i}`).then(() => undefined));
  const sent = countsBetween(before, await proxy.snapshot()).total;
  // The app's delivery engine shares the proxy (its lease renewals and sweeps): a few of its requests may land in
  // this window. More than 1% extra would mean the inserts themselves were retried.
  if (sent < total || sent > total * 1.01) throw new Error(`raw baseline: Azurite received ${sent} requests for ${total} inserts`);
  return stats;
}

/**
 * The correctness check that makes the figures worth printing: every joiner is a member exactly once, nobody
 * else is, and the group's count says 1 + joiners. Pages through the members as the owner would.
 */
async function membershipProblems(app: RunningApp, groupId: string, owner: TestUser, userIds: string[]): Promise<string[]> {
  const seen = new Map<string, number>();
  let continuationToken: string | undefined;
  do {
    const page = await app.groups.listMembers(
      groupId,
      { user: { id: owner.aadObjectId, name: owner.name } },
      { pageSize: 100, continuationToken },
    );
    for (const member of page.items) seen.set(member.user.id, (seen.get(member.user.id) ?? 0) + 1);
    continuationToken = page.continuationToken;
  } while (continuationToken);

  const expected = new Set([owner.aadObjectId, ...userIds]);
  const missing = userIds.filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const strangers = [...seen.keys()].filter((id) => !expected.has(id));
  const { memberCount } = await app.groups.getGroup(groupId);
  const problems: string[] = [];
  if (missing.length) problems.push(`${missing.length} joiners are not members (${missing.slice(0, 5).join(', ')})`);
  if (twice.length) problems.push(`${twice.length} members are listed more than once`);
  if (!seen.has(owner.aadObjectId)) problems.push('the owner is not a member');
  if (strangers.length) problems.push(`${strangers.length} unexpected members`);
  if (memberCount !== expected.size) problems.push(`memberCount is ${memberCount}, expected ${expected.size}`);
  if (problems.length === 0) {
    console.log(`  verified: ${seen.size} members listed (owner + ${userIds.length} joiners, each once), memberCount ${memberCount}`);
  }
  return problems;
}

function report(r: {
  joiners: number;
  storm: RunStats;
  rawInserts: RunStats;
  ratio: number;
  counts: ProxyCounts;
  notices: SentActivity[];
  noticeLagMs: number;
  connectorCalls: number;
}): void {
  console.log(`  raw createEntity (200 B, ${IN_FLIGHT} in flight, same Azurite via the proxy): ${fmt(r.rawInserts)}`);
  console.log(`  joins (POST /api/messages "join <link>", ${IN_FLIGHT} in flight): ${fmt(r.storm)}`);
  console.log(
    `  Azurite round trips: ${r.counts.total} for ${r.joiners} joins = ${(r.counts.total / r.joiners).toFixed(2)} per join, by operation:`,
  );
  for (const [operation, n] of Object.entries(r.counts.byOperation).sort((a, b) => b[1] - a[1])) {
    console.log(`    ${(n / r.joiners).toFixed(2).padStart(6)}  ${operation}`);
  }
  // The notices trail the last answer by milliseconds, so this is close to the rate Azurite served.
  console.log(
    `  Azurite served ${(r.counts.total / r.storm.seconds).toFixed(0)} requests/s during the storm (raw insert rate above: ${r.rawInserts.ratePerSecond.toFixed(0)}/s)`,
  );
  const failed = Object.entries(r.counts.failures);
  if (failed.length > 0) console.log(`  refused by Azurite (retried or expected): ${failed.map(([k, n]) => `${k} x${n}`).join(', ')}`);
  const shownCounts = new Set(r.notices.map((n) => /now has (\d+) member/.exec(textOf([n]))?.[1]));
  console.log(
    `  admin notices: ${r.notices.length} proactive messages to the owner's chat, batched, telling of ${joinersTold(r.notices)} joiners (last one ${r.noticeLagMs} ms after the last join answered); ` +
      `they showed ${shownCounts.size} distinct member counts; connector calls per join (reply + notice): ${(r.connectorCalls / r.joiners).toFixed(2)}`,
  );
  const verdict = r.ratio >= TARGET_RATIO ? 'target met' : 'below target';
  console.log(`  ratio joins/s / raw inserts/s: ${r.ratio.toFixed(2)} (target >= ${TARGET_RATIO}): ${verdict}`);
}
