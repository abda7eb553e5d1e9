import { parentPort, workerData } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { FakeChannel } from '../test/helpers/fakeChannel';
import { messageActivity, testUser } from '../test/helpers/activities';
import { textOf } from '../test/helpers/chat';
import { postJson, runConcurrent } from './lib';
import type { StormRequest, StormResult } from './joinStorm';

/**
 * The join storm's clients, on their own thread: the joiners posting `join <link>` and the stand-in Teams
 * channel that receives the bot's replies. In production they are other machines; here they would otherwise
 * take event-loop time from the bot they measure.
 */
const { appUrl, link, groupName, joiners, inFlight } = workerData as StormRequest;

/** What a joiner reads when something went wrong; a fresh user is never "already a member". */
const NOT_WELCOMED = /already a member|try again|went wrong|sorry|not valid/i;

async function storm(): Promise<StormResult> {
  const channel = await new FakeChannel().start();
  const users = Array.from({ length: joiners }, (_, i) => testUser(`Joiner ${i + 1}`));
  const failures: string[] = [];
  try {
    const stats = await runConcurrent(users.length, inFlight, async (i) => {
      const user = users[i]!;
      const conversation = `a:personal-${user.id}`;
      try {
        const before = channel.to(conversation).length;
        const status = await postJson(
          `${appUrl}/api/messages`,
          messageActivity(channel.serviceUrl, user, { text: `join ${link}`, id: randomUUID() }),
        );
        const reply = status === 200 ? textOf(channel.to(conversation).slice(before)) : `HTTP ${status}`;
        if (!reply.includes(groupName) || NOT_WELCOMED.test(reply))
          failures.push(`${user.name}: ${reply.replace(/\s+/g, ' ').slice(0, 120) || '(no reply)'}`);
      } catch (err) {
        failures.push(`${user.name}: ${(err as Error).message}`);
      }
    });
    return { stats, failures, userIds: users.map((u) => u.aadObjectId), connectorCalls: channel.sent.length };
  } finally {
    await channel.stop();
  }
}

storm().then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (err: Error) => parentPort!.postMessage({ ok: false, error: err.stack ?? err.message }),
);
