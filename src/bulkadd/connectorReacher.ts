/**
 * Reaching people without Microsoft Graph (no app registration: `npm start`, `npm run playground`, the tests):
 * the bot asks the channel for a personal chat with each person (the Bot Connector's create conversation, the
 * same call the delivery engine makes for a member without a chat). Where the app is installed for them, or the
 * channel is the Agents Playground, that is enough to welcome them; where it is not, the row says so instead of
 * a welcome failing unseen later.
 */
import { REACH_FAILURES, type Reach } from './graphInstaller';
import type { Reacher } from './jobWorker';

/** The channel's create conversation: a conversation reference (opaque) whose `conversation.id` is the chat. */
export type CreateConversation = (userId: string, tenantId: string, serviceUrl: string) => Promise<unknown>;

export class ConnectorReacher implements Reacher {
  constructor(
    private readonly createConversation: CreateConversation,
    private readonly tenantId: string,
    private readonly serviceUrl: string,
  ) {}

  async reach(userIds: readonly string[]): Promise<Map<string, Reach>> {
    const results = new Map<string, Reach>();
    // One at a time: a chat's worth of people (50 at most from chat), and the channel's own limits apply.
    for (const userId of userIds) {
      try {
        const ref = (await this.createConversation(userId, this.tenantId, this.serviceUrl)) as { conversation?: { id?: unknown } };
        const chatId = ref?.conversation?.id;
        results.set(
          userId,
          typeof chatId === 'string' && chatId ? { chatId } : { failed: 'chat_refused', detail: REACH_FAILURES.chat_refused },
        );
      } catch (err) {
        results.set(userId, { failed: 'chat_refused', detail: `${REACH_FAILURES.chat_refused}; ${(err as Error).message}` });
      }
    }
    return results;
  }
}
