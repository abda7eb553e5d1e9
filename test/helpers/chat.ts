import assert from 'node:assert/strict';
import type { TestApp } from './testApp';
import type { SentActivity } from './fakeChannel';
import { cardActionValue, invokeActivity, messageActivity, type TestUser } from './activities';

export interface ChatOptions {
  conversationId?: string;
  conversationType?: string;
  id?: string;
  attachments?: unknown[];
  /** The card a click came from (Teams sets it on Action.Submit messages). */
  replyToId?: string;
}

/**
 * Talks to the bot the way Teams does, through POST /api/messages, and returns what the bot sent back to that
 * conversation in answer (read from the fake channel). Background notices to other chats are left for
 * `t.channel.to(...)`.
 */
export class Chat {
  /** `headers` signs each request as the channel would (channel authentication on). */
  constructor(
    private readonly t: TestApp,
    private readonly headers: () => Promise<Record<string, string>> = async () => ({}),
  ) {}

  /** Posts any activity as the channel; the HTTP answer and what the bot sent to `conversationId` meanwhile. */
  async post(activity: Record<string, unknown>, conversationId: string) {
    const before = this.t.channel.to(conversationId).length;
    const res = await this.t.post(activity, await this.headers());
    return { ...res, sent: this.t.channel.to(conversationId).slice(before) };
  }

  conversationOf(user: TestUser, options: ChatOptions = {}): string {
    return options.conversationId ?? `a:personal-${user.id}`;
  }

  async say(user: TestUser, text: string, options: ChatOptions = {}): Promise<SentActivity[]> {
    return this.exchange(user, options, messageActivity(this.t.channel.serviceUrl, user, { text, ...options }));
  }

  /** `new group <name>`, then Skip at the photo question, as an owner does; returns the new group's id. */
  async createGroup(owner: TestUser, name: string): Promise<string> {
    await this.say(owner, `new group ${name}`);
    return String(buttonData(cardsIn(await this.submit(owner, 'skipPhoto')).at(-1)!, 'showInvite').groupId);
  }

  /** An Action.Submit click: a message whose value carries `{ verb, ...data }` (plus any card inputs). */
  async submit(user: TestUser, verb: string, data: Record<string, unknown> = {}, options: ChatOptions = {}): Promise<SentActivity[]> {
    return this.exchange(user, options, messageActivity(this.t.channel.serviceUrl, user, { value: { verb, ...data }, ...options }));
  }

  /** An Action.Execute click: an adaptiveCard/action invoke; returns the HTTP invoke response and what was sent. */
  async execute(user: TestUser, verb: string, data: Record<string, unknown> = {}, options: ChatOptions = {}) {
    const conversationId = this.conversationOf(user, options);
    const before = this.t.channel.to(conversationId).length;
    const res = await this.t.post(
      invokeActivity(this.t.channel.serviceUrl, user, 'adaptiveCard/action', cardActionValue(verb, data), {
        conversationId,
        id: options.id,
      }),
      await this.headers(),
    );
    return {
      status: res.status,
      body: res.json as { statusCode: number; type: string; value: unknown },
      sent: this.t.channel.to(conversationId).slice(before),
    };
  }

  private async exchange(user: TestUser, options: ChatOptions, activity: Record<string, unknown>): Promise<SentActivity[]> {
    const conversationId = this.conversationOf(user, options);
    const before = this.t.channel.to(conversationId).length;
    const res = await this.t.post(activity, await this.headers());
    assert.equal(res.status, 200, `POST /api/messages answered ${res.status}: ${res.body}`);
    // The turn's replies are sent before the HTTP response completes.
    return this.t.channel.to(conversationId).slice(before);
  }
}

export type CardJson = Record<string, unknown>;

/** The Adaptive Cards in what was sent. */
export function cardsIn(sent: SentActivity[]): CardJson[] {
  return sent.flatMap((s) =>
    (s.activity.attachments ?? []).filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive').map((a) => a.content),
  );
}

/** All the text a person would read in what was sent: message text and every card's strings. */
export function textOf(sent: SentActivity[] | CardJson): string {
  const parts: string[] = [];
  const walk = (node: unknown, key?: string) => {
    if (typeof node === 'string') {
      if (key === 'text' || key === 'title' || key === 'value' || key === 'altText' || key === 'fallbackText') parts.push(node);
    } else if (Array.isArray(node)) node.forEach((n) => walk(n, key));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  if (Array.isArray(sent)) for (const s of sent) walk(s.activity);
  else walk(sent);
  return parts.join('\n');
}

/** Every action in a card (nested ShowCards included), for finding a button's data. */
export function actionsIn(card: CardJson): Array<{ type: string; title?: string; url?: string; data?: Record<string, unknown> }> {
  const found: Array<{ type: string; title?: string; url?: string; data?: Record<string, unknown> }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.type === 'string' && obj.type.startsWith('Action.')) found.push(obj as never);
      Object.values(obj).forEach(walk);
    }
  };
  walk(card);
  return found;
}

export function buttonData(card: CardJson, verb: string): Record<string, unknown> {
  const action = actionsIn(card).find((a) => a.data?.verb === verb);
  assert.ok(action, `no button with verb ${verb} in ${JSON.stringify(card).slice(0, 300)}`);
  return action.data!;
}
