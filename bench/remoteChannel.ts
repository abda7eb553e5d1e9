import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ThrottlingChannelOptions } from '../test/helpers/throttlingChannel';

export interface ChannelCall {
  method: string;
  conversationId: string;
  tenant: string;
  text: string;
  at: number;
}

export interface ChannelDump {
  accepted: ChannelCall[];
  throttled: Array<{ tenant: string; conversationId: string; at: number }>;
}

/** The throttling fake channel on a worker thread (see channel.worker.ts), asked for what it recorded. */
export class RemoteChannel {
  private nextId = 1;
  private readonly waiting = new Map<number, (value: unknown) => void>();

  private constructor(
    private readonly worker: Worker,
    readonly serviceUrl: string,
  ) {
    worker.on('message', (reply: { id?: number; value?: unknown }) => {
      if (reply.id === undefined) return;
      this.waiting.get(reply.id)?.(reply.value);
      this.waiting.delete(reply.id);
    });
  }

  static async start(options: ThrottlingChannelOptions): Promise<RemoteChannel> {
    // tsx's loader hooks do not reach workers; its CommonJS hook, required first, does.
    const entry = path.join(__dirname, 'channel.worker.ts');
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { eval: true, workerData: options });
    const serviceUrl = await new Promise<string>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: { serviceUrl: string }) => resolve(m.serviceUrl));
    });
    return new RemoteChannel(worker, serviceUrl);
  }

  private ask<T>(request: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(id, resolve as (value: unknown) => void);
      this.worker.postMessage({ ...request, id });
    });
  }

  ref(userId: string, tenant: string): Record<string, unknown> {
    return {
      serviceUrl: this.serviceUrl,
      channelId: 'msteams',
      conversation: { id: `a:chat-${userId}`, tenantId: tenant, conversationType: 'personal' },
      user: { id: userId },
      bot: { id: 'bot' },
    };
  }

  /** Conversations that received a send whose text starts with `prefix`. */
  count(prefix: string): Promise<number> {
    return this.ask<number>({ type: 'count', prefix });
  }

  /** Sends accepted so far (every POST of an activity). */
  sends(): Promise<number> {
    return this.ask<number>({ type: 'sends' });
  }

  dump(): Promise<ChannelDump> {
    return this.ask<ChannelDump>({ type: 'dump' });
  }

  async stop(): Promise<void> {
    await this.ask({ type: 'stop' });
    await this.worker.terminate();
  }
}

/** The most calls for one tenant within any `windowMs`. */
export function maxInWindow(calls: ChannelCall[], tenant: string, windowMs = 1_000): number {
  const times = calls
    .filter((c) => c.tenant === tenant)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}
