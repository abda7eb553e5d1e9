import { z } from 'zod';

/**
 * The least an activity must carry for the bot to answer it. The SDK accepts nearly any JSON object and fails
 * later, inside the turn, where the caller can only get a 200 or a 500; a 400 here says what is wrong.
 */
const activitySchema = z.object({
  type: z.string().min(1).max(64),
  id: z.string().max(512).optional(),
  serviceUrl: z.string().url().max(2048),
  channelId: z.string().min(1).max(64),
  conversation: z.object({ id: z.string().min(1).max(1024) }),
  from: z.object({ id: z.string().min(1).max(512) }),
  recipient: z.object({ id: z.string().min(1).max(512) }).optional(),
  text: z.string().max(28 * 1024).optional(),
});

export function isWellFormedActivity(body: unknown): boolean {
  return activitySchema.safeParse(body).success;
}
