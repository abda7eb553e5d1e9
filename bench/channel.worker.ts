import { parentPort, workerData } from 'node:worker_threads';
import { ThrottlingChannel, type ThrottlingChannelOptions } from '../test/helpers/throttlingChannel';

/**
 * The worker side of bench/remoteChannel.ts: the throttling fake Teams channel on its own thread, so that its
 * HTTP handling neither takes the bot's event loop nor counts in the bot's CPU time.
 */
type Request =
  | { id: number; type: 'count'; prefix: string }
  | { id: number; type: 'sends' }
  | { id: number; type: 'dump' }
  | { id: number; type: 'stop' };

void (async () => {
  const channel = await new ThrottlingChannel(workerData as ThrottlingChannelOptions).start();
  parentPort!.postMessage({ type: 'ready', serviceUrl: channel.serviceUrl });
  parentPort!.on('message', async (request: Request) => {
    if (request.type === 'count') {
      const conversations = new Set<string>();
      for (const call of channel.accepted) {
        if (call.method === 'POST' && String(call.activity.text ?? '').startsWith(request.prefix)) conversations.add(call.conversationId);
      }
      parentPort!.postMessage({ id: request.id, value: conversations.size });
    } else if (request.type === 'sends') {
      parentPort!.postMessage({ id: request.id, value: channel.sends().length });
    } else if (request.type === 'dump') {
      parentPort!.postMessage({
        id: request.id,
        value: {
          accepted: channel.accepted.map((c) => ({
            method: c.method,
            conversationId: c.conversationId,
            tenant: c.tenant,
            text: String(c.activity.text ?? ''),
            at: c.at,
          })),
          throttled: channel.throttled,
        },
      });
    } else {
      await channel.stop();
      parentPort!.postMessage({ id: request.id, value: null });
    }
  });
})();
