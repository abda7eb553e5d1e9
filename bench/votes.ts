import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { startApp, type RunningApp } from '../src/app';
import { ActionStore } from '../src/actions/actionStore';
import { freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { FakeChannel } from '../test/helpers/fakeChannel';
import { messageActivity, testUser, type TestUser } from '../test/helpers/activities';
import { buttonData, cardsIn, textOf } from '../test/helpers/chat';
import { RecordingDeliveryEngine } from '../test/helpers/recordingEngine';
import { countsBetween, startCountingProxy, type ProxyCounts } from './countingProxy';
import { fmt, postJson, runConcurrent, startBenchAzurite, type Verdict } from './lib';

const IN_FLIGHT = 50;
const TABLE_PREFIX = 'benchvotes';
const TARGET_RATIO = 0.8;
const OPTIONS = ['Early shift', 'Late shift', 'Night shift'];

/**
 * Issue 19: `members` people answer one poll, 50 in flight, each a real Action.Submit turn through
 * /api/messages, against the joins/s of the same people joining the group in the same run (same client, same
 * in-flight, same proxy). Then a 1,000-member announcement: everyone taps Got it, every tenth tap delivered twice.
 * Tallies and confirmations must be exact. Delivery is a recording engine in both phases (this measures answering,
 * not fan-out; bench fanout measures that).
 */
export async function benchVotes(members: number): Promise<Verdict[]> {
  const azurite = await startBenchAzurite();
  const proxy = await startCountingProxy(azurite.port, TABLE_PREFIX);
  const channel = await new FakeChannel().start();
  const port = await freeLoopbackPort();
  const connectionString = `${proxy.connectionString}QueueEndpoint=http://127.0.0.1:${azurite.queuePort}/devstoreaccount1;`;
  const config = loadConfig({ PORT: String(port), STORAGE_CONNECTION_STRING: connectionString, LOG_LEVEL: 'silent' });
  const engine = new RecordingDeliveryEngine();
  const app = await startApp(config, {
    logger: createLogger({ level: 'silent' }),
    tablePrefix: TABLE_PREFIX,
    createDeliveryEngine: engine.factory,
  });
  const say = async (user: TestUser, fields: { text?: string; value?: unknown }, id: string = randomUUID()) => {
    const conversation = `a:personal-${user.id}`;
    const before = channel.to(conversation).length;
    const status = await postJson(`${app.url}/api/messages`, messageActivity(channel.serviceUrl, user, { ...fields, id }));
    if (status !== 200) throw new Error(`POST /api/messages answered ${status} to ${JSON.stringify(fields).slice(0, 100)}`);
    return channel.to(conversation).slice(before);
  };
  try {
    const owner = testUser('Poll Owner');
    const groupId = await createGroup(say, owner, 'Shift Vote');
    const link = await inviteLink(app, groupId, owner);
    const users = Array.from({ length: members }, (_, i) => testUser(`Voter ${i + 1}`));
    // Warm-up: JIT, pools, tables (a small group, a few joins and votes), not counted.
    await warmUp(say, app);

    const joinsBefore = await proxy.snapshot();
    const joined = new Set<number>();
    const joinFailures: string[] = [];
    const joinStats = await runConcurrent(members, IN_FLIGHT, async (i) => {
      try {
        await asAPersonWould(() => say(users[i]!, { text: `join ${link}` }), /Shift Vote/, `join ${i}`);
        joined.add(i);
      } catch (err) {
        joinFailures.push((err as Error).message);
      }
    });
    // A join the shared machine's storage refused thrice is left out of the vote (and reported), not the run.
    if (joinFailures.length) console.log(`  ${joinFailures.length} joins failed after 3 tries, e.g. ${joinFailures[0]}`);
    const voters = users.filter((_, i) => joined.has(i));
    const joinRequests = countsBetween(joinsBefore, await proxy.snapshot()).total;
    console.log(
      `  joins (POST /api/messages "join <link>", ${IN_FLIGHT} in flight): ${fmt(joinStats)}; ${(joinRequests / members).toFixed(2)} storage requests per join`,
    );

    const actionId = await createPoll(say, app, owner, groupId);
    const before = await proxy.snapshot();
    const voteFailures: string[] = [];
    const voteStats = await runConcurrent(voters.length, IN_FLIGHT, async (i) => {
      const value = { verb: 'voteAction', groupId, actionId, choice: String(i % OPTIONS.length) };
      await asAPersonWould(() => say(voters[i]!, { value }), /You voted/, `vote ${i}`).catch((err: Error) =>
        voteFailures.push(err.message),
      );
    });
    if (voteFailures.length) console.log(`  ${voteFailures.length} votes failed after 3 tries, e.g. ${voteFailures[0]}`);
    const counts = countsBetween(before, await proxy.snapshot());
    console.log(`  votes (POST /api/messages Action.Submit voteAction, ${IN_FLIGHT} in flight): ${fmt(voteStats)}`);
    const store = new ActionStore(app.tables.actions);
    const tallies = await store.tallies(groupId, actionId);
    const votes = voters.length;
    // Exact: each option's tally equals the named voter rows that chose it, and every vote that was answered has its row.
    const rows = await store.voters(groupId, actionId);
    const expected = OPTIONS.map((_, o) => [...rows.values()].filter((r) => r.choices?.includes(o)).length);
    const got = OPTIONS.map((_, o) => tallies.get(o) ?? 0);
    const voterRows = rows.size;
    const exact = got.every((n, o) => n === expected[o]) && voterRows >= votes - voteFailures.length;
    console.log(`  tallies ${got.join(' / ')} (expected ${expected.join(' / ')}), voter rows ${voterRows}: ${exact ? 'exact' : 'WRONG'}`);
    reportCounts(counts, votes);

    const announcement = await benchAnnouncement(say, app, voters.slice(0, Math.min(1_000, votes)));
    const ratio = voteStats.ratePerSecond / joinStats.ratePerSecond;
    console.log(
      `  ratio votes/s / joins/s: ${ratio.toFixed(2)} (target >= ${TARGET_RATIO}); answers tried again after "try again": ${retried.joins} joins, ${retried.votes} votes`,
    );
    if (!exact || !announcement.exact) throw new Error('votes: a tally or a confirmation count is not exact');
    return [
      {
        section: 'votes',
        figure: 'votes/s / joins/s (same run, 50 in flight)',
        value: ratio.toFixed(2),
        target: `>= ${TARGET_RATIO}`,
        met: ratio >= TARGET_RATIO,
      },
      { section: 'votes', figure: `tallies of ${members} votes`, value: exact ? 'exact' : 'wrong', target: 'exact', met: exact },
      {
        section: 'votes',
        figure: 'storage requests per vote',
        value: (counts.total / members).toFixed(2),
        target: '(none)',
        met: undefined,
      },
      {
        section: 'votes',
        figure: `confirmations of a ${announcement.members}-member announcement`,
        value: announcement.exact ? 'exact' : 'wrong',
        target: 'exact',
        met: announcement.exact,
      },
    ];
  } finally {
    await app.stop();
    await channel.stop();
    await proxy.close();
    await azurite.stop();
  }
}

const retried = { joins: 0, votes: 0 };

/**
 * One turn, tried again (at most 3 times, as a person taps again) when the bot answered "try again" (storage
 * too busy on a shared machine); a vote tried again must still count once.
 */
async function asAPersonWould(turn: () => Promise<Parameters<typeof textOf>[0]>, ok: RegExp, what: string): Promise<void> {
  let reply = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    reply = textOf(await turn());
    if (ok.test(reply)) return;
    if (!/try again/i.test(reply)) break;
    if (what.startsWith('join')) retried.joins++;
    else retried.votes++;
  }
  throw new Error(`${what}: ${reply.slice(0, 160)}`);
}

type Say = (user: TestUser, fields: { text?: string; value?: unknown }, id?: string) => Promise<ReturnType<FakeChannel['to']>>;

async function createGroup(say: Say, owner: TestUser, name: string): Promise<string> {
  await say(owner, { text: `new group ${name}` });
  return String(buttonData(cardsIn(await say(owner, { value: { verb: 'skipPhoto' } })).at(-1)!, 'showInvite').groupId);
}

async function inviteLink(app: RunningApp, groupId: string, owner: TestUser): Promise<string> {
  return (await app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name })).url;
}

async function createPoll(say: Say, app: RunningApp, owner: TestUser, groupId: string): Promise<string> {
  const options = Object.fromEntries(OPTIONS.map((o, i) => [`option${i + 1}`, o]));
  await say(owner, {
    value: { verb: 'createPoll', groupId, question: 'Which shift next week?', ...options, multi: 'false', anonymous: 'false' },
  });
  let actionId: string | undefined;
  for await (const post of app.posts.all(groupId)) actionId = post.action?.id ?? actionId;
  if (!actionId) throw new Error('the poll was not posted');
  return actionId;
}

async function warmUp(say: Say, app: RunningApp): Promise<void> {
  const owner = testUser('Warm-up Owner');
  const groupId = await createGroup(say, owner, 'Warm Up');
  const users = Array.from({ length: 60 }, () => testUser());
  const link = await inviteLink(app, groupId, owner);
  await runConcurrent(users.length, IN_FLIGHT, async (i) => void (await say(users[i]!, { text: `join ${link}` })));
  const actionId = await createPoll(say, app, owner, groupId);
  await runConcurrent(
    users.length,
    IN_FLIGHT,
    async (i) => void (await say(users[i]!, { value: { verb: 'voteAction', groupId, actionId, choice: '0' } })),
  );
}

/** The same people in a 1,000-member group confirm an announcement; every tenth Got it arrives twice (a redelivery). */
async function benchAnnouncement(say: Say, app: RunningApp, users: TestUser[]): Promise<{ members: number; exact: boolean }> {
  const owner = testUser('Announcer');
  const groupId = await createGroup(say, owner, 'Gate Crew');
  const link = await inviteLink(app, groupId, owner);
  const failures: string[] = [];
  await runConcurrent(users.length, IN_FLIGHT, async (i) => {
    const reply = textOf(await say(users[i]!, { text: `join ${link}` }));
    if (!reply.includes('Gate Crew')) failures.push(`join ${i}: ${reply.slice(0, 100)}`);
  });
  await say(owner, {
    value: { verb: 'createAnnouncement', groupId, title: 'Gate code', text: 'The gate code changes on Monday.', askConfirm: 'true' },
  });
  let actionId = '';
  for await (const post of app.posts.all(groupId)) actionId = post.action?.id ?? actionId;
  const stats = await runConcurrent(users.length, IN_FLIGHT, async (i) => {
    const value = { verb: 'confirmAction', groupId, actionId };
    const id = randomUUID();
    const replies =
      i % 10 === 0
        ? await Promise.all([say(users[i]!, { value }, id), say(users[i]!, { value }, id)])
        : [await say(users[i]!, { value }, id)];
    if (!replies.some((r) => /You confirmed/.test(textOf(r))))
      failures.push(`confirm ${i}: ${replies.map((r) => textOf(r).slice(0, 100)).join(' | ')}`);
  });
  if (failures.length) console.log(`  ${failures.length} failed, e.g. ${failures.slice(0, 3).join(' || ')}`);
  const store = new ActionStore(app.tables.actions);
  const confirmed = (await store.tallies(groupId, actionId)).get('confirmed') ?? 0;
  const voters = (await store.voters(groupId, actionId)).size;
  const exact = confirmed === users.length && voters === users.length;
  console.log(
    `  announcement: ${users.length} members tap Got it (every tenth twice): ${fmt(stats)}; confirmed ${confirmed}, answered rows ${voters}: ${exact ? 'exact' : 'WRONG'}`,
  );
  return { members: users.length, exact };
}

function reportCounts(counts: ProxyCounts, votes: number): void {
  console.log(`  Azurite round trips: ${counts.total} for ${votes} votes = ${(counts.total / votes).toFixed(2)} per vote, by operation:`);
  for (const [operation, n] of Object.entries(counts.byOperation)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)) {
    console.log(`    ${(n / votes).toFixed(2).padStart(6)}  ${operation}`);
  }
  const failed = Object.entries(counts.failures);
  if (failed.length > 0) console.log(`  refused by Azurite (retried or expected): ${failed.map(([k, n]) => `${k} x${n}`).join(', ')}`);
}
