import { createHash } from 'node:crypto';
import type { Activity, TurnContext } from 'botbuilder';
import { isAppError } from '../../errors';
import type { ConversationService } from '../../groups/conversationService';
import type { GroupService } from '../../groups/groupService';
import { decideMessage, type MessageDecision } from '../../groups/messageRule';
import { threadNote } from '../../groups/groupTypes';
import { previewOf, type GroupPostSettings, type PostChange, type PostSender } from '../../groups/posts';
import type { Logger } from '../../logger';
import {
  buildConfirmationCard,
  buildPostHistoryCard,
  buildPostItCard,
  buildPostSettingsCard,
  buildSwitchGroupCard,
  deletePostConfirmation,
  literal,
  POST_IT_INPUT,
  type CardData,
} from '../../../cards';
import type { GroupActions, Requester } from './groupActions';
import { markdownSafe } from './groupActions';
import { userFromActivity } from '../input/identity';
import { cardReply, textReply, type Reply } from '../replies';
import type { TurnInput } from '../input/turnInput';
import { commandResolver } from './commandResolver';
import { COMMAND_VOCABULARY } from '../input/commands';
import type { ImportFlow } from './importFlow';
import { isFileAttachment } from '../../web/exportIntake';

export interface PostsFlowDependencies {
  conversation: ConversationService;
  groups: Pick<GroupService, 'listMyGroups' | 'resolveInvite' | 'listOrgGroups' | 'membersNamed' | 'removedNamed'>;
  actions: Pick<GroupActions, 'resolveGroup' | 'groupInfo'>;
  logger: Logger;
  /** Importing chat exports (issue 20): a file sent while a group is current is previewed for import. */
  imports?: ImportFlow;
}

export type MessageChangeKind = 'edit' | 'softDelete' | 'undelete';

/** What typed text is, for a member with a current group (and for everyone else: a command). */
export type TypedOutcome =
  /** Answered here: a post (or a refused one), or what an admin's word could not find with its Post it card. */
  | { kind: 'answered'; reply: Reply }
  /** The command runs; `offer` is its Post it card should it find nothing: `export` resolves once signed in, never posts. */
  | { kind: 'command'; offer?: Reply };

const RUN_COMMAND: TypedOutcome = { kind: 'command' };

const NOT_SUPPORTED = 'Files and pictures are not supported yet. Only text is posted to the group.';
const SWITCH_GROUPS = 25;

/** The key of the request that makes a post: a redelivered message (same conversation and id) is one post. */
export function postSourceKey(conversationId: string, activityId: string): string {
  return createHash('sha256').update(`${conversationId}|${activityId}`, 'utf8').digest('hex').slice(0, 40);
}

/** The sender of a post from an authenticated activity: the tenant comes from the activity, never from the text. */
export function postSenderOf(activity: Partial<Activity>): PostSender {
  const user = userFromActivity(activity);
  const channelTenant = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  const tenantId = activity.conversation?.tenantId || (typeof channelTenant === 'string' ? channelTenant : '');
  return { userId: user.id, name: user.name, tenantId, ...(activity.from?.aadObjectId ? { objectId: activity.from.aadObjectId } : {}) };
}

/**
 * The group's conversation in the personal chat: the command-vs-post decision for a member with a current
 * group, posting and replying, switch/open, history, settings, mute, and the sender's edits and deletes.
 */
export class PostsFlow {
  constructor(private readonly deps: PostsFlowDependencies) {}

  get imports(): ImportFlow | undefined {
    return this.deps.imports;
  }

  /**
   * With a current group, typed text that is not a command is a post (src/groups/messageRule.ts). Returns the
   * answer when the message was a post, a refused one, or an admin's word that found nothing; otherwise the
   * turn is a command and goes on as usual.
   */
  async tryPost(context: TurnContext, input: TurnInput): Promise<TypedOutcome> {
    const activity = context.activity;
    if (activity.conversation?.conversationType !== 'personal') return RUN_COMMAND;
    if (input.kind !== 'command' && input.kind !== 'text' && input.kind !== 'empty') return RUN_COMMAND;
    // "/..." and a command typed alone ("invite", "Help!") are commands whatever the current group: no look-up.
    if (input.kind === 'command' && (input.slash || input.args === '')) return RUN_COMMAND;
    const req = requesterOf(activity);
    const current = await this.deps.conversation.currentGroup(req.user.id);
    if (!current) return RUN_COMMAND;
    const attachments = input.kind === 'command' ? [] : input.attachments;
    // An exported chat sent while a group is current is an import (issue 20), not a post.
    const file = this.deps.imports ? attachments.find(isFileAttachment) : undefined;
    if (file && this.deps.imports) return answered(await this.deps.imports.upload(context, current.groupId, file));
    if (input.kind === 'empty') return attachments.length > 0 ? answered(textReply(NOT_SUPPORTED)) : RUN_COMMAND;
    const resolver = commandResolver(this.deps.groups, req, current.groupId, postSenderOf(activity).tenantId);
    const decision = await decideMessage(input.text, COMMAND_VOCABULARY, resolver);
    // The text as sent (line breaks kept), not the command parser's one-line form.
    const text = withoutBotMention(activity.text ?? '', activity.recipient?.name);
    if (decision.kind === 'command') return RUN_COMMAND;
    if (decision.kind === 'notFound') {
      const offer = this.postItOffer(decision, { groupId: current.groupId, groupName: current.groupName, text, source: activity.id ?? '' });
      return decision.missing === 'orgGroup' ? { kind: 'command', offer } : answered(offer);
    }
    if (attachments.length > 0) return answered(textReply(NOT_SUPPORTED));
    try {
      const { created, post } = await this.deps.conversation.post(
        {
          groupId: current.groupId,
          sender: postSenderOf(activity),
          text,
          sourceKey: postSourceKey(activity.conversation.id, activity.id ?? ''),
        },
        current.context,
      );
      if (created && !current.confirmed) {
        await this.deps.conversation.markConfirmed(req.user.id, current.groupId);
        const to = post.thread
          ? `the admins of **${markdownSafe(current.groupName)}** (only you and the admins see it)`
          : `**${markdownSafe(current.groupName)}**`;
        return answered(textReply(`Sent to ${to}. Type \`switch\` to choose another group.`));
      }
      return answered({ cards: [] });
    } catch (err) {
      if (!isAppError(err)) throw err;
      this.deps.logger.info({ activityId: activity.id, code: err.code }, 'post refused');
      return answered(textReply(err.userMessage));
    }
  }

  /** "Nobody called "Dave" is a member of Alpha Crew." with Post it: nothing is posted unless it is pressed. */
  private postItOffer(
    decision: Extract<MessageDecision, { kind: 'notFound' }>,
    post: { groupId: string; groupName: string; text: string; source: string },
  ): Reply {
    const { name } = decision;
    const group = decision.groupName ?? post.groupName;
    const notFound: Record<typeof decision.missing, string[]> = {
      group: ['You are not in a group called “', name, '”.'],
      member: ['Nobody called “', name, '” is a member of ', group, '.'],
      admin: ['Nobody called “', name, '” is an admin of ', group, '.'],
      removed: ['Nobody called “', name, '” was removed from ', group, '.'],
      orgGroup: ['Was it a post for ', post.groupName, '?'],
    };
    return cardReply(buildPostItCard({ ...post, notFound: notFound[decision.missing] }));
  }

  /** The Post it button: posts the card's message, once (keyed by the typed message, like the post it would have been). */
  async postIt(context: TurnContext, groupId: string, data: CardData): Promise<Reply> {
    const activity = context.activity;
    const source = typeof data.source === 'string' && data.source !== '' ? data.source : (activity.id ?? '');
    const { groupName } = await this.deps.conversation.post({
      groupId,
      sender: postSenderOf(activity),
      text: typeof data[POST_IT_INPUT] === 'string' ? data[POST_IT_INPUT] : '',
      sourceKey: postSourceKey(activity.conversation.id, source),
    });
    return textReply(`Posted to **${markdownSafe(groupName)}**.`);
  }

  // ---- current group --------------------------------------------------------------------------------------

  /** The group a command names, else the current group, else the member's only group (or the list). */
  async groupFor(req: Requester, name: string): Promise<{ groupId: string } | { reply: Reply }> {
    if (!name.trim()) {
      const current = await this.deps.conversation.currentGroup(req.user.id);
      if (current) return { groupId: current.groupId };
    }
    return this.deps.actions.resolveGroup(req, name);
  }

  async setCurrent(userId: string, groupId: string): Promise<void> {
    await this.deps.conversation.setCurrentGroup(userId, groupId);
  }

  /** `switch`: the list to choose from; `switch <group>`: that group. */
  async switchGroup(req: Requester, name: string): Promise<Reply> {
    if (name.trim()) {
      const resolved = await this.deps.actions.resolveGroup(req, name);
      if ('reply' in resolved) return resolved.reply;
      return this.switchTo(req, resolved.groupId);
    }
    const [page, current] = await Promise.all([
      this.deps.groups.listMyGroups(req.user.id, { pageSize: SWITCH_GROUPS }),
      this.deps.conversation.currentGroup(req.user.id),
    ]);
    if (page.items.length === 0)
      return textReply("You aren't in any group yet. Type **new group** to create one, or **join** with an invite link.");
    return cardReply(
      buildSwitchGroupCard({
        groups: page.items.map(({ group }) => ({ groupId: group.id, name: group.name })),
        currentGroupId: current?.groupId,
      }),
    );
  }

  async switchTo(req: Requester, groupId: string): Promise<Reply> {
    const { groupName } = await this.deps.conversation.settings(groupId, req.user.id); // members only
    await this.deps.conversation.setCurrentGroup(req.user.id, groupId);
    return textReply(`What you type now goes to **${markdownSafe(groupName)}**. Type \`switch\` to choose another group.`);
  }

  /** `open <group>` and the card's Open group: the group becomes current, and its info is shown. */
  async open(req: Requester, groupId: string): Promise<Reply> {
    const reply = await this.deps.actions.groupInfo(req, groupId);
    await this.deps.conversation.setCurrentGroup(req.user.id, groupId);
    return { ...reply, text: 'What you type now goes to this group.' };
  }

  // ---- replies and deletes --------------------------------------------------------------------------------

  /** The card's Reply: posts to that group whatever the current group is, and makes it current. */
  async reply(context: TurnContext, groupId: string, seq: number, text: string): Promise<Reply> {
    const activity = context.activity;
    const req = requesterOf(activity);
    if (!text.trim()) return textReply('Type your reply in the box first.');
    const { post, groupName } = await this.deps.conversation.post({
      groupId,
      sender: postSenderOf(activity),
      text,
      sourceKey: postSourceKey(activity.conversation.id, activity.id ?? ''),
      replyToSeq: seq,
    });
    await this.deps.conversation.setCurrentGroup(req.user.id, groupId);
    const to = post.replyTo?.senderName ?? 'the post';
    const only = post.thread ? ` ${threadNote(post.thread, req.user.id)}.` : '';
    return textReply(`You replied in ${literal(groupName, 100)} to ${literal(to, 100)}: ${literal(previewOf(post.text), 100)}${only}`);
  }

  /** Asks first (issue 17): the card names the post; its button deletes it (deletePost). */
  async askDeletePost(req: Requester, groupId: string, seq: number): Promise<Reply> {
    const [{ groupName, viewerIsAdmin }, post] = await Promise.all([
      this.deps.conversation.settings(groupId, req.user.id), // members only
      this.deps.conversation.visiblePost(groupId, req.user.id, seq),
    ]);
    // A post this member may not see is "not found" (the visibility rule), never a preview.
    if (!post) return textReply('That post does not exist any more.');
    if (post.deletedAt) return textReply('That post is already deleted.');
    if (!viewerIsAdmin && post.sender.userId !== req.user.id) return textReply('Only group admins and the sender can delete a post.');
    return cardReply(
      buildConfirmationCard(
        deletePostConfirmation({ groupId, groupName, seq, senderName: post.sender.name, preview: previewOf(post.text) }),
      ),
    );
  }

  async deletePost(req: Requester, groupId: string, seq: number): Promise<Reply> {
    await this.deps.conversation.deletePost(groupId, seq, req.user);
    return textReply('The post is deleted for everyone.');
  }

  /**
   * Teams tells the bot when a sender edits, deletes or undeletes a message, with the original message's id:
   * the post it made follows (every delivered copy, through the engine). An undelete is a fresh post of the text
   * it carries (the deleted post kept none), and the sender is told what happened.
   */
  async onMessageChange(context: TurnContext, kind: MessageChangeKind): Promise<void> {
    const activity = context.activity;
    if (activity.conversation?.conversationType !== 'personal' || !activity.id) return;
    const sourceKey = postSourceKey(activity.conversation.id, activity.id);
    const text = withoutBotMention(activity.text ?? '', activity.recipient?.name);
    if (kind === 'undelete') {
      const reply = await this.undelete(activity, sourceKey, text);
      if (reply) await context.sendActivity(reply);
      return;
    }
    const user = userFromActivity(activity);
    const at = timeOf(activity);
    const change: PostChange = kind === 'edit' ? { kind: 'edit', text, at } : { kind: 'delete', at, by: user };
    const changed = await this.deps.conversation.changeBySource(sourceKey, user.id, change);
    this.deps.logger.info({ activityId: activity.id, kind, applied: Boolean(changed) }, 'message change');
  }

  private async undelete(activity: Partial<Activity>, sourceKey: string, text: string): Promise<string | undefined> {
    try {
      const outcome = await this.deps.conversation.undeleteBySource(sourceKey, postSenderOf(activity), text);
      this.deps.logger.info({ activityId: activity.id, kind: 'undelete', outcome: outcome.kind }, 'message change');
      if (outcome.kind === 'nothing') return undefined;
      const group = `**${markdownSafe(outcome.groupName)}**`;
      return outcome.kind === 'noText'
        ? `You restored a message, but Teams did not send its text, so nothing was posted to ${group} again. Send it again to post it.`
        : `You restored a message: it is posted to ${group} again, as a new post.`;
    } catch (err) {
      if (!isAppError(err)) throw err;
      this.deps.logger.info({ activityId: activity.id, code: err.code }, 'undelete refused');
      return `You restored a message, but it was not posted again: ${err.userMessage}`;
    }
  }

  // ---- history, settings, mute ----------------------------------------------------------------------------

  async history(req: Requester, groupId: string, before?: number): Promise<Reply> {
    const page = await this.deps.conversation.history(groupId, req.user.id, before);
    return cardReply(
      buildPostHistoryCard({
        groupId,
        groupName: page.groupName,
        posts: page.posts.map((p) => ({
          seq: p.seq,
          senderName: p.deletedAt ? '' : p.sender.name,
          text: p.deletedAt ? '' : p.text,
          createdAt: p.createdAt,
          edited: p.editedAt !== undefined,
          deleted: p.deletedAt !== undefined,
          replyTo: p.replyTo,
          ...(p.thread ? { threadNote: threadNote(p.thread, req.user.id) } : {}),
        })),
        earlier: page.earlier,
        importedEarlier: page.earlier === undefined && (await this.deps.imports?.hasImported(groupId, req.user.id)),
      }),
    );
  }

  async settings(req: Requester, groupId: string): Promise<Reply> {
    const { groupName, settings, viewerIsAdmin } = await this.deps.conversation.settings(groupId, req.user.id);
    return cardReply(buildPostSettingsCard({ groupId, groupName, ...settings, viewerIsAdmin }));
  }

  async saveSettings(req: Requester, groupId: string, data: CardData): Promise<Reply> {
    const settings = await this.deps.conversation.updateSettings(groupId, req.user, {
      onlyAdminsPost: toggle(data.onlyAdminsPost),
      historyForNewMembers: toggle(data.historyForNewMembers),
      membersSeeEachOther: toggle(data.membersSeeEachOther),
      ...groupTypeChoices(data),
    });
    const { groupName } = await this.deps.conversation.settings(groupId, req.user.id);
    return {
      text: 'Settings saved.',
      cards: [buildPostSettingsCard({ groupId, groupName, ...settings, viewerIsAdmin: true })],
    };
  }

  async mute(req: Requester, groupId: string, muted: boolean): Promise<Reply> {
    const groupName = await this.deps.conversation.setMuted(groupId, req.user.id, muted);
    return textReply(
      muted
        ? `**${markdownSafe(groupName)}** is muted: you get no posts from it until you type \`unmute\`. Its history is still there.`
        : `**${markdownSafe(groupName)}** is unmuted: you get its new posts again.`,
    );
  }
}

function answered(reply: Reply): TypedOutcome {
  return { kind: 'answered', reply };
}

function requesterOf(activity: Partial<Activity>): Requester {
  return { user: userFromActivity(activity), activityId: activity.id ?? '' };
}

/** A toggle's submitted value ('true' / 'false'; booleans from some clients); undefined leaves it as it is. */
function toggle(value: string | number | boolean | undefined): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** The card's two choice sets; a value that is none of the choices leaves the setting as it is. */
function groupTypeChoices(data: CardData): Partial<GroupPostSettings> {
  const patch: Partial<GroupPostSettings> = {};
  if (data.memberPostsTo === 'everyone' || data.memberPostsTo === 'admins') patch.memberPostsTo = data.memberPostsTo;
  const notices = data.joinNotices;
  if (notices === 'each' || notices === 'digest' || notices === 'off') patch.joinNotices = notices;
  if (notices === 'auto') patch.joinNotices = undefined;
  return patch;
}

/** The time of an edit or delete event: Teams' timestamp, so a redelivered event is recognised as the same. */
function timeOf(activity: Partial<Activity>): string {
  const raw = activity.timestamp ?? activity.localTimestamp;
  const date = raw ? new Date(raw as unknown as string) : new Date();
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

/** The bot's own `<at>` mention (group chats) removed; everything else as sent. */
function withoutBotMention(text: string, botName: string | undefined): string {
  if (!botName) return text;
  const wanted = botName.trim().toLowerCase();
  return text.replace(/<at(?:\s[^>]*)?>([\s\S]*?)<\/at>/gi, (whole, inner: string) => (inner.trim().toLowerCase() === wanted ? '' : whole));
}
