import { randomUUID } from 'node:crypto';

export interface TestUser {
  id: string;
  name: string;
  aadObjectId: string;
}

let counter = 0;

export function testUser(name = `User ${++counter}`): TestUser {
  const n = ++counter;
  return { id: `29:user-${n}-${randomUUID().slice(0, 8)}`, name, aadObjectId: randomUUID() };
}

export const BOT = { id: '28:kaizala-bot', name: 'Kaizala Groups' };
export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** A Teams personal-chat message activity, as the channel posts it to /api/messages. */
export function messageActivity(
  serviceUrl: string,
  user: TestUser,
  fields: {
    text?: string;
    value?: unknown;
    conversationId?: string;
    conversationType?: string;
    id?: string;
    attachments?: unknown[];
    replyToId?: string;
  } = {},
): Record<string, unknown> {
  return {
    type: 'message',
    id: fields.id ?? `act-${randomUUID()}`,
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl,
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: BOT,
    conversation: {
      id: fields.conversationId ?? `a:personal-${user.id}`,
      conversationType: fields.conversationType ?? 'personal',
      tenantId: TENANT_ID,
    },
    channelData: { tenant: { id: TENANT_ID } },
    locale: 'en-US',
    text: fields.text,
    value: fields.value,
    attachments: fields.attachments,
    replyToId: fields.replyToId,
  };
}

export function installActivity(serviceUrl: string, user: TestUser): Record<string, unknown> {
  return {
    type: 'installationUpdate',
    action: 'add',
    id: `act-${randomUUID()}`,
    channelId: 'msteams',
    serviceUrl,
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: BOT,
    conversation: { id: `a:personal-${user.id}`, conversationType: 'personal', tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID } },
  };
}

export function invokeActivity(
  serviceUrl: string,
  user: TestUser,
  name: string,
  value: unknown,
  fields: { conversationId?: string; id?: string } = {},
): Record<string, unknown> {
  return {
    type: 'invoke',
    name,
    id: fields.id ?? `act-${randomUUID()}`,
    channelId: 'msteams',
    serviceUrl,
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: BOT,
    conversation: { id: fields.conversationId ?? `a:personal-${user.id}`, conversationType: 'personal', tenantId: TENANT_ID },
    channelData: { tenant: { id: TENANT_ID } },
    value,
  };
}

/** `{ verb, ...data }` as Action.Execute sends it inside an adaptiveCard/action invoke. */
export function cardActionValue(verb: string, data: Record<string, unknown> = {}): unknown {
  return { action: { type: 'Action.Execute', verb, data: { verb, ...data } }, trigger: 'manual' };
}
