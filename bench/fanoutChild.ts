import { BotFrameworkSender } from '../src/delivery/botFrameworkSender';
import { QueueDeliveryEngine } from '../src/delivery/engine';
import type { WorkBody } from '../src/delivery/workBody';
import { WorkQueue } from '../src/delivery/workQueue';
import { createLogger } from '../src/logger';
import { createTableClients } from '../src/storage/tables';
import { MemoryFanout } from '../test/helpers/memoryFanout';

/**
 * The bot's delivery engine as its own process, for the SIGKILL scenario of bench/fanout.ts: the parent kills it
 * mid fan-out and starts another on the same storage. The group is rebuilt the same way in every process.
 * Env: FANOUT_CS, FANOUT_QUEUE, FANOUT_PREFIX, FANOUT_SERVICE_URL, FANOUT_GROUP, FANOUT_MEMBERS, FANOUT_TENANT,
 * FANOUT_BUDGET, FANOUT_ACCEPT (1 = accept the post).
 */
async function main(): Promise<void> {
  const env = process.env;
  const source = new MemoryFanout();
  const group = env.FANOUT_GROUP!;
  const tenant = env.FANOUT_TENANT!;
  const joinedAt = '2020-01-01T00:00:00.000Z';
  const members = Number(env.FANOUT_MEMBERS);
  for (let i = 0; i < members; i++) {
    const userId = `${group}-u${String(i).padStart(6, '0')}`;
    const conversationRef = {
      serviceUrl: env.FANOUT_SERVICE_URL,
      channelId: 'msteams',
      conversation: { id: `a:chat-${userId}`, tenantId: tenant },
      user: { id: userId },
      bot: { id: 'bot' },
    };
    source.addMember(group, { userId, tenantId: tenant, conversationRef, muted: false, joinedAt });
  }
  source.addPost({
    groupId: group,
    seq: 1,
    senderUserId: `${group}-u000000`,
    text: 'survives a crash',
    createdAt: '2021-01-01T00:00:00.000Z',
  });
  const logger = createLogger({ level: 'error' });
  const tables = createTableClients({ connectionString: env.FANOUT_CS!, prefix: env.FANOUT_PREFIX! });
  const engine = new QueueDeliveryEngine({
    source,
    render: source.render,
    sender: new BotFrameworkSender({ allowedServiceUrlHosts: [], allowLoopback: true }),
    tables: { deliveries: tables.deliveries, outbox: tables.outbox, lanes: tables.lanes },
    queue: new WorkQueue<WorkBody>({ connectionString: env.FANOUT_CS!, name: env.FANOUT_QUEUE!, logger, visibilitySeconds: 10 }),
    logger,
    tenantBudgetRps: Number(env.FANOUT_BUDGET),
    pollMs: 200,
    leaseMs: 5_000,
  });
  await engine.start();
  if (env.FANOUT_ACCEPT === '1') await engine.postAccepted(group, 1);
  process.send?.('started');
}

main().catch((err: Error) => {
  console.error(err.stack);
  process.exit(1);
});
