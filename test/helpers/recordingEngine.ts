import type { DeliveryEngine, FanoutSource, Recipient, RenderCopy } from '../../src/delivery/ports';

export type EngineCall =
  | { call: 'postAccepted' | 'postChanged'; groupId: string; seq: number }
  | { call: 'deleteCopiesFor'; groupId: string; userId: string }
  | { call: 'sendOneOff'; key: string; userId: string };

/**
 * TEST ONLY. A DeliveryEngine that records what it is told and delivers nothing, so posting tests can assert on
 * the calls (the app runs the real engine otherwise: test/conversationDelivery.e2e.test.ts delivers through it).
 * `render` renders a copy through the app's real RenderCopy, for tests that look at what a member would receive.
 */
export class RecordingDeliveryEngine implements DeliveryEngine {
  readonly calls: EngineCall[] = [];
  source?: FanoutSource;
  renderCopy?: RenderCopy;

  /** For AppOptions.createDeliveryEngine: keeps the app's source and renderer. */
  readonly factory = (deps: { source: FanoutSource; render: RenderCopy }): DeliveryEngine => {
    this.source = deps.source;
    this.renderCopy = deps.render;
    return this;
  };

  async postAccepted(groupId: string, seq: number): Promise<void> {
    this.calls.push({ call: 'postAccepted', groupId, seq });
  }
  async postChanged(groupId: string, seq: number): Promise<void> {
    this.calls.push({ call: 'postChanged', groupId, seq });
  }
  async deleteCopiesFor(groupId: string, userId: string): Promise<void> {
    this.calls.push({ call: 'deleteCopiesFor', groupId, userId });
  }
  async sendOneOff(key: string, recipient: Recipient): Promise<void> {
    this.calls.push({ call: 'sendOneOff', key, userId: recipient.userId });
  }
  /** Every one-off it was told of counts as sent (it delivers nothing, and nothing fails). */
  async oneOffOutcomes(prefix: string): Promise<Map<string, string>> {
    return new Map(this.calls.flatMap((c) => (c.call === 'sendOneOff' && c.key.startsWith(prefix) ? [[c.key, 'sent'] as const] : [])));
  }
  async unreachableCount(): Promise<number> {
    return 0;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** The calls of one kind for one group, in order. */
  seqs(call: 'postAccepted' | 'postChanged', groupId: string): number[] {
    return this.calls.flatMap((c) => (c.call === call && c.groupId === groupId ? [c.seq] : []));
  }
}
