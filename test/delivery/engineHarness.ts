import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { QueueDeliveryEngine, QueueDeliveryEngineOptions } from '../../src/delivery/engine';
import { createDeliveryEngine } from '../../src/delivery/index';
import type { Recipient } from '../../src/delivery/ports';
import type { WorkBody } from '../../src/delivery/workBody';
import { WorkQueue } from '../../src/delivery/workQueue';
import { createLogger, type Logger } from '../../src/logger';
import { startEmbeddedAzurite, type EmbeddedAzurite } from '../../src/storage/embeddedAzurite';
import { createTableClients, ensureTables } from '../../src/storage/tables';
import { freshTables, uniquePrefix } from '../helpers/azurite';
import { MemoryFanout } from '../helpers/memoryFanout';
import { ThrottlingChannel, type ThrottlingChannelOptions } from '../helpers/throttlingChannel';

/** Log lines the engine wrote, parsed (tests read them to check what was logged). */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/**
 * One storage (tables + queue) shared by any number of engines, a throttling fake channel and an in-memory
 * group source: what the delivery tests and the bench run against.
 */
export class EngineWorld {
  readonly source = new MemoryFanout();
  readonly engines: QueueDeliveryEngine[] = [];
  readonly log = captureLogger();

  private constructor(
    readonly channel: ThrottlingChannel,
    readonly tables: Awaited<ReturnType<typeof freshTables>>,
    readonly connectionString: string,
    readonly queueName: string,
    /** Its own storage (tests that stop the table service), stopped on close. */
    readonly azurite?: EmbeddedAzurite,
  ) {}

  static async create(channel: ThrottlingChannelOptions): Promise<EngineWorld> {
    const tables = await freshTables();
    // The shared Azurite runs the queue service beside the tables: its connection string names both.
    const world = new EngineWorld(await new ThrottlingChannel(channel).start(), tables, tables.connectionString, `${tables.prefix}-fanout`);
    return world;
  }

  /**
   * A world on storage of its own (table and queue services), for tests that stop the table service (SIGSTOP):
   * storage calls are bounded by `storageTimeoutMs`, and the supervisor never replaces the stopped child (a
   * replacement of an in-memory store would start empty).
   */
  static async withOwnStorage(channel: ThrottlingChannelOptions, storageTimeoutMs: number): Promise<EngineWorld> {
    const azurite = await startEmbeddedAzurite({ queue: true, supervision: { intervalMs: 60_000, failures: 1_000 } });
    return EngineWorld.onStorage(channel, azurite, storageTimeoutMs);
  }

  /**
   * Storage as the app runs it embedded: saved to a folder (autosave), supervised with the app's defaults, so
   * a stopped table child is replaced from its last save (the writes since then are gone), and the engines are
   * told (dropCaches), as the app tells them.
   */
  static async withAppStorage(channel: ThrottlingChannelOptions, storageTimeoutMs: number): Promise<EngineWorld> {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'engine-world-'));
    // The storage starts before the world it belongs to: told about the world once it exists.
    const told: { world?: EngineWorld } = {};
    const azurite = await startEmbeddedAzurite({
      queue: true,
      location: folder,
      onRestart: () => told.world?.engines.forEach((engine) => engine.dropCaches()),
    });
    const world = await EngineWorld.onStorage(channel, azurite, storageTimeoutMs);
    world.folder = folder;
    told.world = world;
    return world;
  }

  private folder?: string;

  private static async onStorage(
    channel: ThrottlingChannelOptions,
    azurite: EmbeddedAzurite,
    storageTimeoutMs: number,
  ): Promise<EngineWorld> {
    const prefix = uniquePrefix();
    const clients = createTableClients({ connectionString: azurite.connectionString, prefix, timeoutMs: storageTimeoutMs });
    await ensureTables(clients);
    const tables = { clients, connectionString: azurite.connectionString, prefix };
    return new EngineWorld(await new ThrottlingChannel(channel).start(), tables, azurite.connectionString, `${prefix}-fanout`, azurite);
  }

  /** Stops the table service's process (it accepts connections and answers nothing) for `ms`. */
  async stallTables(ms: number): Promise<void> {
    const pid = this.azurite!.pid;
    process.kill(pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, ms));
    try {
      process.kill(pid, 'SIGCONT');
    } catch (err) {
      // Gone already when the supervisor replaced it meanwhile.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  queue(): WorkQueue<WorkBody> {
    return new WorkQueue<WorkBody>({
      connectionString: this.connectionString,
      name: this.queueName,
      logger: this.log.logger,
      visibilitySeconds: 2,
      maxDequeues: 5,
    });
  }

  /** An engine as the app wires it (createDeliveryEngine), with test timings: short leases, polls and backoff. */
  engine(overrides: Partial<QueueDeliveryEngineOptions> = {}): QueueDeliveryEngine {
    const engine = createDeliveryEngine({
      config: { TEAMS_TENANT_BUDGET_RPS: 400, ALLOWED_SERVICE_URL_HOSTS: [], channelAuthEnabled: false },
      connectionString: this.connectionString,
      prefix: this.tables.prefix,
      tables: this.tables.clients,
      source: this.source,
      render: this.source.render,
      logger: this.log.logger,
      tuning: {
        queue: this.queue(),
        pollMs: 50,
        leaseMs: 2_000,
        sweepMs: 500,
        staleMs: 3_000,
        backoffBaseMs: 50,
        laneIdleMs: 1_000,
        ...overrides,
      },
    });
    this.engines.push(engine);
    return engine;
  }

  /** `count` members u0001.. in `tenant`, joined an hour ago, each with a personal chat in the channel. */
  addMembers(groupId: string, count: number, tenant = 'tenant-a', from = 1): Recipient[] {
    const joinedAt = new Date(Date.now() - 3_600_000).toISOString();
    const added: Recipient[] = [];
    for (let i = from; i < from + count; i++) {
      const userId = `${tenant}-u${String(i).padStart(5, '0')}`;
      const recipient = { userId, tenantId: tenant, conversationRef: this.channel.ref(userId, tenant), muted: false, joinedAt };
      this.source.addMember(groupId, recipient);
      added.push(recipient);
    }
    return added;
  }

  /** Accepted sends of one post (by its rendered prefix), per conversation. */
  copiesOf(groupId: string, seq: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.channel.sends()) {
      if (String(call.activity.text ?? '').startsWith(`${groupId}#${seq} `))
        counts.set(call.conversationId, (counts.get(call.conversationId) ?? 0) + 1);
    }
    return counts;
  }

  async close(): Promise<void> {
    await Promise.all(this.engines.map((e) => e.stop()));
    await this.channel.stop();
    await this.azurite?.stop();
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
  }
}

export const chatOf = (userId: string) => `a:chat-${userId}`;

/** The fan-out is finished in the tables: no unfinished post left in the outbox. */
export async function waitForOutboxEmpty(world: EngineWorld, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = [];
    for await (const row of world.tables.clients.outbox.listEntities()) rows.push(row);
    if (rows.length === 0) return;
    if (Date.now() > deadline) throw new Error(`outbox still holds ${rows.map((r) => `${r.partitionKey}/${r.rowKey}`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
