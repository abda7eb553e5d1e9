/**
 * An announcement or a poll is a post of the group (issue 19): the action is kept in its table, then posted
 * through the conversation's one door (ConversationService.post: membership, "only admins post", the rate,
 * history, retention, deletion with the group) as a post carrying the action's id; the delivery engine renders
 * each member's card from it. The post's text is the summary that history and the export show.
 */
import { createHash } from 'node:crypto';
import type { ConversationService } from '../groups/conversationService';
import type { Post, PostSender } from '../groups/posts';
import type { ActionService, Results } from './actionService';
import type { GroupAction, NewAnnouncement, NewPoll, Poll } from './model';

type Conversation = Pick<ConversationService, 'post'>;

const keyOf = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 20);

/** What history and the export show for an action's post. */
export function actionSummary(action: GroupAction): string {
  if (action.kind === 'announcement') return `Announcement: ${action.title}\n\n${action.text}`;
  return `Poll: ${action.question}\n${action.options.map((o) => `- ${o}`).join('\n')}`;
}

/** The results post sent when a poll closes (only counts, never who chose what). */
export function resultsSummary(poll: Poll, results: Results | undefined): string {
  if (!results || poll.resultsFor === 'admins') return `The poll "${poll.question}" is closed. Thank you for voting.`;
  const lines = poll.options.map((o, i) => `- ${o}: ${results.counts[i] ?? 0}`);
  return `The poll "${poll.question}" is closed. ${results.answered} voted.\n${lines.join('\n')}`;
}

export class ActionPosts {
  constructor(private readonly deps: { service: ActionService; conversation: Conversation }) {}

  /** Keeps the announcement and posts it; a redelivered request (same `sourceKey`) makes neither twice. */
  async announce(input: Omit<NewAnnouncement, 'createdBy'>, sender: PostSender, sourceKey: string) {
    const action = await this.deps.service.announce(
      { ...input, createdBy: { id: sender.userId, name: sender.name } },
      keyOf(`action|${sourceKey}`),
    );
    return this.post(action, sender, sourceKey);
  }

  async poll(input: Omit<NewPoll, 'createdBy'>, sender: PostSender, sourceKey: string) {
    const action = await this.deps.service.createPoll(
      { ...input, createdBy: { id: sender.userId, name: sender.name }, creatorTenantId: sender.tenantId },
      keyOf(`action|${sourceKey}`),
    );
    return this.post(action, sender, sourceKey);
  }

  /** Closes the poll and sends its results as a post of the group (once per poll, whoever closes it). */
  async close(groupId: string, actionId: string, closer: PostSender): Promise<Poll> {
    const user = { id: closer.userId, name: closer.name };
    const poll = await this.deps.service.close(groupId, actionId, user);
    const results = await this.deps.service.results(groupId, actionId, user);
    await this.postResults(poll, results, closer);
    return poll;
  }

  /**
   * The closing sweep, for one poll past its closing time: locks it, and posts its results in its creator's
   * name. Safe to repeat (another instance, a crash halfway): the post has one source key per poll (the same as
   * Close's), so the group gets one results post; then the poll is marked as done.
   */
  async closeAtItsTime(groupId: string, actionId: string, now?: Date): Promise<boolean> {
    const closing = await this.deps.service.closeAtItsTime(groupId, actionId, now);
    if (!closing) return false;
    const { poll, results } = closing;
    await this.postResults(poll, results, { userId: poll.createdBy.id, name: poll.createdBy.name, tenantId: poll.creatorTenantId ?? '' });
    return true;
  }

  private async postResults(poll: Poll, results: Results | undefined, sender: PostSender): Promise<void> {
    await this.deps.conversation.post({
      groupId: poll.groupId,
      sender,
      text: resultsSummary(poll, results),
      sourceKey: keyOf(`close|${poll.groupId}|${poll.actionId}`),
    });
    if (poll.closesAt) await this.deps.service.resultsPosted(poll.groupId, poll.actionId);
  }

  private async post(
    action: GroupAction,
    sender: PostSender,
    sourceKey: string,
  ): Promise<{ action: GroupAction; post: Post; created: boolean }> {
    const outcome = await this.deps.conversation.post({
      groupId: action.groupId,
      sender,
      text: actionSummary(action),
      sourceKey,
      action: { kind: action.kind, id: action.actionId },
    });
    return { action, post: outcome.post, created: outcome.created };
  }
}
