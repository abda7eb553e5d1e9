import { z } from 'zod';

/**
 * The fields of an activity that the bot (or the SDK on its behalf) reads, with the types it reads them as.
 * The SDK accepts nearly any JSON object and fails later, inside the turn, where the caller can only get a 200
 * with an apology (and the log a stack); a 400 here says what is wrong. Fields the bot never reads are not
 * checked, and absent or null optional fields are fine (the code treats null as absent).
 */
// `from`, `recipient` and `conversation` are copied into every reply, where the SDK's serializer checks each of
// these fields' types: a wrong one fails the reply, so it is checked here too.
const account = z.object({
  id: z.string().min(1).max(512),
  name: z.string().max(1024).nullish(),
  aadObjectId: z.string().max(128).nullish(),
  role: z.string().max(64).nullish(),
});

const attachment = z.object({
  contentType: z.string().max(256),
  contentUrl: z
    .string()
    .max(8 * 1024)
    .nullish(),
  name: z.string().max(1024).nullish(),
});

const activitySchema = z.object({
  type: z.string().min(1).max(64),
  id: z.string().max(512).nullish(),
  name: z.string().max(256).nullish(),
  action: z.string().max(64).nullish(),
  serviceUrl: z.string().url().max(2048),
  channelId: z.string().min(1).max(64),
  conversation: z.object({
    id: z.string().min(1).max(1024),
    conversationType: z.string().max(64).nullish(),
    tenantId: z.string().max(128).nullish(),
    name: z.string().max(1024).nullish(),
    aadObjectId: z.string().max(128).nullish(),
    role: z.string().max(64).nullish(),
    isGroup: z.boolean().nullish(),
  }),
  from: account,
  recipient: account.nullish(),
  text: z
    .string()
    .max(28 * 1024)
    .nullish(),
  replyToId: z.string().max(512).nullish(),
  attachments: z.array(attachment).max(64).nullish(),
  membersAdded: z.array(account).max(1000).nullish(),
  membersRemoved: z.array(account).max(1000).nullish(),
  channelData: z
    .object({
      tenant: z.object({ id: z.string().max(128).nullish() }).nullish(),
      eventType: z.string().max(128).nullish(),
    })
    .nullish(),
  deliveryMode: z.string().max(64).nullish(),
  // Copied into replies too.
  locale: z.string().max(64).nullish(),
});

/** Messages and invokes carry their card data or invoke payload in `value`, always a JSON object when present. */
const valueSchema = z.record(z.string(), z.unknown()).nullish();

/**
 * Undefined for a well-formed activity; otherwise the first field that is wrong, as a dotted path
 * ("attachments", "from.id", "(body)"), for a one-line log and the 400's message. Never includes a value.
 */
export function activityShapeProblem(body: unknown): string | undefined {
  const parsed = activitySchema.safeParse(body);
  if (!parsed.success) return parsed.error.issues[0]?.path.join('.') || '(body)';
  if (parsed.data.type === 'message' || parsed.data.type === 'invoke') {
    const value = valueSchema.safeParse((body as { value?: unknown }).value);
    if (!value.success) return 'value';
  }
  return undefined;
}

export function isWellFormedActivity(body: unknown): boolean {
  return activityShapeProblem(body) === undefined;
}
