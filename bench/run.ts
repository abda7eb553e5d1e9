import { benchTurnLatency, benchTurns } from './turns';
import { benchJoins } from './joins';
import { startAuthBench, benchAuthTurns, benchForgedTokens } from './auth';
import { benchFanout } from './fanout';
import { benchLoad } from './load';
import { benchImport } from './importBench';
import { benchBulkAdd } from './bulkAdd';
import { benchVotes } from './votes';
import { printSummary, type Verdict } from './lib';

/**
 * `npm run bench [section...]`: every figure is taken in this one run, next to its baseline, and printed as a
 * ratio; nothing here asserts on time, but a section fails (exit 1) on a correctness problem such as a lost
 * member or a forged token that got anything but 401. Sections: turns, joins, auth, forged, fanout, load, import, bulkadd, votes.
 * Sized for a 2-core machine.
 */
const SECTIONS = ['turns', 'joins', 'auth', 'forged', 'fanout', 'load', 'import', 'bulkadd', 'votes'] as const;

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}`);
  const want = (name: (typeof SECTIONS)[number]) => only.length === 0 || only.includes(name);
  const verdicts: Verdict[] = [];

  if (want('turns')) {
    console.log('Turns: 10 conversations in flight');
    const { ratio, floorRatio, bot, floor } = await benchTurns(2_000);
    const botOverFloor = bot.ratePerSecond / floor.ratePerSecond;
    // Issue 21: the verdict is against the floor (the echo bot plus the storage calls a guarded turn must make);
    // the echo ratio is still printed, its old target beside it.
    verdicts.push({
      section: 'turns',
      figure: 'dialog turn / floor turn',
      value: botOverFloor.toFixed(2),
      target: '>= 0.9',
      met: botOverFloor >= 0.9,
    });
    verdicts.push({ section: 'turns', figure: 'dialog turn / echo turn', value: ratio.toFixed(2), target: '(was >= 0.5)', met: undefined });
    verdicts.push({
      section: 'turns',
      figure: 'floor (echo + the turn storage calls) / echo turn',
      value: floorRatio.toFixed(2),
      target: '(none)',
      met: undefined,
    });
    const delayMs = Number(process.env.BENCH_STORAGE_DELAY_MS) || 8;
    console.log(`\nTurn latency with ${delayMs} ms added to every storage call (an in-region Azure Storage round trip), 4 in flight`);
    const latency = await benchTurnLatency(delayMs, 400);
    const p50Ratio = latency.bot.delayed.p50Ms / latency.floor.delayed.p50Ms;
    verdicts.push({
      section: 'turns',
      figure: `p50 this bot / p50 floor, ${delayMs} ms storage`,
      value: `${p50Ratio.toFixed(2)} (${latency.bot.delayed.p50Ms.toFixed(0)} / ${latency.floor.delayed.p50Ms.toFixed(0)} ms)`,
      target: '<= 1.15',
      met: p50Ratio <= 1.15,
    });
    verdicts.push({
      section: 'turns',
      figure: 'storage calls in a row before the reply (this bot)',
      value: String(latency.botInARow),
      target: '<= 2',
      met: latency.botInARow <= 2,
    });
  }

  if (want('joins')) {
    console.log('\nJoins: 2,000 distinct users join one group by its link, 20 in flight');
    const joins = await benchJoins(2_000);
    verdicts.push({
      section: 'joins',
      figure: 'joins/s / raw inserts/s',
      value: joins.ratio.toFixed(2),
      target: '>= 0.22',
      met: joins.ratio >= 0.22,
    });
    verdicts.push({
      section: 'joins',
      figure: 'Azurite round trips per join',
      value: joins.roundTripsPerJoin.toFixed(2),
      target: '(none)',
      met: undefined,
    });
  }

  if (want('auth') || want('forged')) {
    const env = await startAuthBench();
    try {
      if (want('auth')) {
        console.log('\nAuth: the same "help" turn without and with Bot Framework channel authentication, 10 in flight');
        const auth = await benchAuthTurns(env, 1_500);
        verdicts.push({
          section: 'auth',
          figure: 'authenticated / unauthenticated turns/s',
          value: auth.ratio.toFixed(2),
          target: '(none)',
          met: undefined,
        });
      }
      if (want('forged')) {
        console.log('\nForged: 10,000 emulator-issuer tokens with random tenants + 10,000 channel-issuer tokens with forged signatures');
        const forged = await benchForgedTokens(env, 10_000);
        const growthKiB = forged.heapGrowthBytes / 1024;
        verdicts.push({
          section: 'forged',
          figure: 'heap growth after 20,000 forgeries',
          value: `${growthKiB.toFixed(0)} KiB`,
          target: '< 1024 KiB',
          met: growthKiB < 1024,
        });
        verdicts.push({
          section: 'forged',
          figure: 'SDK emulator issuer list',
          value: `${forged.issuersBefore} -> ${forged.issuersAfter}`,
          target: 'unchanged',
          met: forged.issuersAfter === forged.issuersBefore,
        });
      }
    } finally {
      await env.stop();
    }
  }

  if (want('fanout')) {
    console.log('\nFan-out: the delivery engine on Azurite queues and tables against a fake Teams channel with its limits');
    verdicts.push(...(await benchFanout(4_000)));
  }

  if (want('load')) {
    console.log('\nLoad: 5,000 posts in 250 small groups, through the engine on Azurite to a fake Teams channel');
    // LOAD_POSTS_PER_SECOND: the offered rate. Default 10: on a shared 2-core machine the embedded storage keeps
    // up with that (p99 1.9 s), while at 20 (some 500 storage calls a second) it saturates and latency is backlog.
    const postsPerSecond = Number(process.env.LOAD_POSTS_PER_SECOND) || 10;
    verdicts.push(...(await benchLoad({ posts: 5_000, groups: 250, membersPerGroup: 3, tenants: 10, postsPerSecond })));
  }

  if (want('import')) {
    console.log('\nImport: a 40,000-line WhatsApp export previewed and imported into one group');
    verdicts.push(...(await benchImport(Number(process.env.IMPORT_BENCH_LINES ?? 40_000))));
  }

  if (want('bulkadd')) {
    const people = Number(process.env.BULKADD_BENCH_PEOPLE ?? 10_000);
    console.log(`\nBulk add: ${people.toLocaleString('en-US')} people into one group, Graph budget 250/s, install limit 300/s`);
    verdicts.push(...(await benchBulkAdd(people)));
  }

  if (want('votes')) {
    const members = Number(process.env.VOTES_BENCH_MEMBERS ?? 10_000);
    console.log(`\nVotes: ${members.toLocaleString('en-US')} members answer one poll, 50 in flight, against their joins in the same run`);
    verdicts.push(...(await benchVotes(members)));
  }

  printSummary(verdicts);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
