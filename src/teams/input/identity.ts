import { TurnContext, type Activity } from 'botbuilder';
import type { UserRef } from '../../groups/model';

/**
 * The person behind an activity. The AAD object id is stable across chats and is what the tab's SSO token
 * calls `oid`, so the bot and the tab agree on who someone is; the Teams user id is the fallback for
 * channels without one (the local playground).
 */
export function userFromActivity(activity: Partial<Activity>): UserRef {
  const from = activity.from;
  const id = from?.aadObjectId || from?.id;
  if (!id) throw new Error('activity has no sender');
  return { id, name: (from?.name ?? '').trim() || 'Someone' };
}

/**
 * Where to reach this person later (proactive notices), as opaque JSON for the domain to keep: only their
 * personal chat with the bot. A notice like "Ann joined" sent to a group chat or channel would tell people
 * outside the group who is in it.
 */
export function conversationRefOf(activity: Partial<Activity>): string | undefined {
  if (activity.conversation?.conversationType !== 'personal') return undefined;
  return JSON.stringify(TurnContext.getConversationReference(activity));
}
