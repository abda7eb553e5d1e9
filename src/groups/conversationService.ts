import { ForbiddenError, InvalidInputError, NotFoundError, RateLimitedError, TooLargeError } from '../errors';
import type { DeliveryEngine } from '../delivery/ports';
import type { UserRef } from './model';
import {
  canSee,
  HISTORY_PAGE_SIZE,
  isBlankText,
  MAX_POST_CHARS,
  normalizePostText,
  postLength,
  previewOf,
  type CurrentGroupStore,
  type GroupPostSettings,
  type Post,
  type PostChange,
  type PostingContext,
  type PostPage,
  type PostRateLimiter,
  type PostSender,
  type PostStore,
  requireMembership,
  type MemberContext,
  type PostingContextOptions,
  visibleFrom,
} from './posts';
import { postAsSeenBy, threadOfNewPost } from './groupTypes';

export interface ConversationServiceOptions {
  posts: PostStore;
  current: CurrentGroupStore;
  /** The delivery engine (or, before it is wired, anything that implements its interface). */
  engine: Pick<DeliveryEngine, 'postAccepted' | 'postChanged'>;
  limiter: PostRateLimiter;
  /** After a post's deletion: what quotes it goes at once (PostDeletion.scrubQuotes); a failure is the sweep's. */
  /** After a deletion, with the post as it was (an announcement's or poll's rows go with it). */
  deleted?: (groupId: string, seq: number, was: Post) => Promise<void>;
  now?: () => Date;
}

/** What a Teams undelete did: it is a fresh post of the text it carries, never the deleted one brought back. */
export type UndeleteOutcome =
  /** The message made no post (a command, a message of another conversation), or its post is live: nothing. */
  | { kind: 'nothing' }
  /** Teams sent no text with the undelete: nothing is posted, and the sender is told. */
  | { kind: 'noText'; groupName: string }
  | { kind: 'posted'; groupName: string; post: Post };

export interface PostInput {
  groupId: string;
  sender: PostSender;
  /** As typed; normalized here (mentions, entities, line breaks). */
  text: string;
  /** Stable per request: a redelivered request is the same post. */
  sourceKey: string;
  replyToSeq?: number;
  /** An announcement or a poll (src/actions): the post carries it, its text is the summary. */
  action?: Post['action'];
}

export interface PostOutcome {
  post: Post;
  groupName: string;
  /** False when this request had been accepted before (a redelivery): nothing new was sent. */
  created: boolean;
}

/** Store pages one history call reads at most while the viewer may see none of their posts. */
const HISTORY_READS = 5;
const REPLY_TARGET_NOT_FOUND = 'That post was not found.';
const POST_NOT_FOUND = 'That post does not exist any more.';

/**
 * A group's conversation: accepting posts (the rules: membership, settings, length, rate), edits and deletes,
 * history, settings and mute, and each member's current group. Delivery is the engine's job: this service
 * tells it what was accepted or changed. Knows nothing of Teams.
 */
export class ConversationService {
  private readonly now: () => Date;

  constructor(private readonly options: ConversationServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  // ---- posting --------------------------------------------------------------------------------------------

  /**
   * Accepts a post (or finds the one this request made before) and tells the engine. `known` is the posting
   * context the caller read in this same turn (the current-group check reads it): no second read.
   */
  async post(input: PostInput, known?: PostingContext): Promise<PostOutcome> {
    const { posts } = this.options;
    const text = normalizePostText(input.text ?? '');
    if (isBlankText(text)) throw new InvalidInputError('There is nothing to post. Type some text.');
    const length = postLength(text);
    if (length > MAX_POST_CHARS) {
      throw new TooLargeError(
        `Posts can be at most ${MAX_POST_CHARS.toLocaleString('en-US')} characters; yours has ${length.toLocaleString('en-US')}. Please shorten it.`,
      );
    }
    const context = await this.requirePoster(input.groupId, input.sender.userId, known, input.replyToSeq !== undefined);
    try {
      await this.options.limiter.take(input.sender.userId);
    } catch (err) {
      // A redelivered request that was accepted before must not be refused for the rate it caused itself.
      const earlier = err instanceof RateLimitedError ? await posts.findBySource(input.sourceKey) : undefined;
      const post = earlier && (await posts.get(earlier.groupId, earlier.seq));
      if (post) return { post, groupName: context.groupName, created: false };
      throw err;
    }
    let replyTo: Post['replyTo'];
    let answered: Post | undefined;
    if (input.replyToSeq !== undefined) {
      answered = await posts.get(input.groupId, input.replyToSeq);
      // A post the replier may not see is "not found", exactly like one that never existed: no name, no quote.
      if (!answered || !canSee(context, answered)) throw new NotFoundError(REPLY_TARGET_NOT_FOUND);
      if (answered.deletedAt) throw new NotFoundError('The post you are replying to was deleted.');
      replyTo = {
        seq: answered.seq,
        senderName: answered.sender.name,
        preview: previewOf(answered.text),
        senderId: answered.sender.userId,
      };
    }
    // Hub-and-spoke (groupTypes.ts): a member's post, and the replies to it, reach the admins and that member only.
    const thread = threadOfNewPost(context as MemberContext, answered);
    const sender: PostSender = {
      ...input.sender,
      name: input.sender.name.trim() || 'Someone',
      tenantId: input.sender.tenantId.trim().toLowerCase(),
    };
    const createdAt = this.now().toISOString();
    const { seq, created } = await posts.accept({
      groupId: input.groupId,
      sender,
      text,
      createdAt,
      replyTo,
      thread,
      sourceKey: input.sourceKey,
      ...(input.action ? { action: input.action } : {}),
      senderMembership: context.member?.version,
    });
    // Also for a redelivery: the engine's call is idempotent, and a crash before it leaves nothing unsent.
    await this.options.engine.postAccepted(input.groupId, seq);
    const post = created
      ? {
          groupId: input.groupId,
          seq,
          sender,
          text,
          createdAt,
          replyTo,
          thread,
          version: 1,
          sourceKey: input.sourceKey,
          action: input.action,
        }
      : await posts.get(input.groupId, seq);
    if (!post) throw new NotFoundError('That post was deleted.');
    return { post: postAsSeenBy(context, sender.userId, post), groupName: context.groupName, created };
  }

  /**
   * The member may post in the group now (member, and an admin when only admins may post). In a broadcast group
   * (only admins post, members' posts go to the admins) a member may still answer a post: the answer reaches
   * the admins only.
   */
  private async requirePoster(groupId: string, userId: string, known?: PostingContext, isReply = false): Promise<PostingContext> {
    const context =
      known?.groupId === groupId && known.member?.userId === userId
        ? known
        : await this.requireMember(groupId, userId, (name) => `You are not a member of ${name}, so you cannot post there.`);
    if (context.settings.onlyAdminsPost && !context.adminIds.includes(userId)) {
      if (isReply && context.settings.memberPostsTo === 'admins') return context;
      const answer = context.settings.memberPostsTo === 'admins' ? ' Use Reply on a post to answer the admins.' : '';
      throw new ForbiddenError(`Only admins can post in ${context.groupName}.${answer}`);
    }
    return context;
  }

  /** The conversation's one membership check (posts.ts requireMembership). */
  requireMember(
    groupId: string,
    userId: string,
    notMember?: (groupName: string) => string,
    options?: PostingContextOptions,
  ): Promise<MemberContext> {
    return requireMembership(this.options.posts, groupId, userId, notMember, options);
  }

  // ---- edits and deletes ----------------------------------------------------------------------------------

  /**
   * The sender edited or deleted the message that made a post (Teams tells us with the original message's id).
   * Only the sender's own change of their own post counts. Returns the post when it changed.
   */
  async changeBySource(sourceKey: string, actorId: string, change: PostChange): Promise<Post | undefined> {
    const found = await this.options.posts.findBySource(sourceKey);
    if (!found) return undefined;
    const post = await this.options.posts.get(found.groupId, found.seq);
    if (!post || post.sender.userId !== actorId) return undefined;
    if (change.kind === 'edit') {
      const text = normalizePostText(change.text);
      if (text === '' || postLength(text) > MAX_POST_CHARS) return undefined;
      change = { ...change, text };
    }
    return this.apply(found.groupId, found.seq, change, post);
  }

  /**
   * The sender undeleted the message that made a post (issue 17). The deleted post kept nothing to bring back:
   * the text Teams sends with the undelete is posted afresh, through every check of a post (membership, who may
   * post, length, rate), under the same request key (so the message's later edits follow the new post). It gets
   * a new sequence number: the old one stays a tombstone, and numbers never repeat. Throws what `post` throws.
   */
  async undeleteBySource(sourceKey: string, sender: PostSender, text: string): Promise<UndeleteOutcome> {
    const { posts } = this.options;
    const groupId = await posts.groupOfSource(sourceKey);
    if (!groupId) return { kind: 'nothing' };
    const live = await posts.findBySource(sourceKey);
    // Its post is there and not deleted: a repeated undelete, or a deletion that never reached us.
    if (live && !(await posts.get(live.groupId, live.seq))?.deletedAt) return { kind: 'nothing' };
    if (isBlankText(normalizePostText(text ?? ''))) {
      const context = await this.requireMember(groupId, sender.userId);
      return { kind: 'noText', groupName: context.groupName };
    }
    const outcome = await this.post({ groupId, sender, text, sourceKey });
    // A post deleted before tombstones kept its idempotency row until the sweep finishes it: nothing new then.
    if (outcome.post.deletedAt) return { kind: 'nothing' };
    return { kind: 'posted', groupName: outcome.groupName, post: outcome.post };
  }

  /** "Delete post": group admins and the sender, while they are members, of a post they may see. */
  async deletePost(groupId: string, seq: number, actor: UserRef): Promise<Post> {
    const [context, post] = await Promise.all([this.requireMember(groupId, actor.id), this.options.posts.get(groupId, seq)]);
    if (!post || !canSee(context, post)) throw new NotFoundError(POST_NOT_FOUND);
    // Before the sender check: a tombstone names no sender.
    if (post.deletedAt) return post;
    if (!context.adminIds.includes(actor.id) && post.sender.userId !== actor.id)
      throw new ForbiddenError('Only group admins and the sender can delete a post.');
    return (await this.apply(groupId, seq, { kind: 'delete', at: this.now().toISOString(), by: actor }, post)) ?? post;
  }

  private async apply(groupId: string, seq: number, change: PostChange, was: Post): Promise<Post | undefined> {
    const result = await this.options.posts.change(groupId, seq, change);
    if (!result?.applied) return undefined;
    await this.options.engine.postChanged(groupId, seq);
    if (change.kind === 'delete') await this.options.deleted?.(groupId, seq, was);
    return result.post;
  }

  // ---- reading --------------------------------------------------------------------------------------------

  /**
   * Members only: 20 posts before `before` (the latest when absent), oldest first, as this member may see them
   * (the visibility rule, others' hub-and-spoke threads left out, hidden members' names hidden). A page of
   * others' threads is skipped, a few store pages at most per call.
   */
  async history(groupId: string, userId: string, before?: number): Promise<PostPage & { groupName: string }> {
    const context = await this.requireMember(groupId, userId);
    const posts: Post[] = [];
    let earlier = before;
    let page: PostPage;
    let reads = 0;
    do {
      page = await this.options.posts.page(groupId, { before: earlier, pageSize: HISTORY_PAGE_SIZE, visibleFrom: visibleFrom(context) });
      // The store cuts the page by sequence number; the rule is per post (clocks of two instances may disagree).
      posts.unshift(...page.posts.filter((p) => canSee(context, p)).map((p) => postAsSeenBy(context, userId, p)));
      earlier = page.earlier;
    } while (posts.length === 0 && earlier !== undefined && ++reads < HISTORY_READS);
    return { posts, ...(earlier !== undefined ? { earlier } : {}), groupName: context.groupName };
  }

  /** One post as this member may see it (the visibility rule); undefined when it does not exist for them. */
  async visiblePost(groupId: string, userId: string, seq: number): Promise<Post | undefined> {
    const [context, post] = await Promise.all([this.requireMember(groupId, userId), this.options.posts.get(groupId, seq)]);
    return post && canSee(context, post) ? postAsSeenBy(context, userId, post) : undefined;
  }

  // ---- settings and mute ----------------------------------------------------------------------------------

  async settings(groupId: string, userId: string): Promise<{ groupName: string; settings: GroupPostSettings; viewerIsAdmin: boolean }> {
    const context = await this.requireMember(groupId, userId);
    return { groupName: context.groupName, settings: context.settings, viewerIsAdmin: context.adminIds.includes(userId) };
  }

  async updateSettings(groupId: string, actor: UserRef, patch: Partial<GroupPostSettings>): Promise<GroupPostSettings> {
    const { settings, viewerIsAdmin } = await this.settings(groupId, actor.id);
    if (!viewerIsAdmin) throw new ForbiddenError('Only group admins can change the settings.');
    const next: GroupPostSettings = {
      onlyAdminsPost: patch.onlyAdminsPost ?? settings.onlyAdminsPost,
      historyForNewMembers: patch.historyForNewMembers ?? settings.historyForNewMembers,
      membersSeeEachOther: patch.membersSeeEachOther ?? settings.membersSeeEachOther,
      memberPostsTo: patch.memberPostsTo ?? settings.memberPostsTo,
    };
    const joinNotices = 'joinNotices' in patch ? patch.joinNotices : settings.joinNotices;
    if (joinNotices !== undefined) next.joinNotices = joinNotices;
    await this.options.posts.setSettings(groupId, next);
    return next;
  }

  /** No deliveries while muted (the engine checks each recipient before sending); history stays. */
  async setMuted(groupId: string, userId: string, muted: boolean): Promise<string> {
    const context = await this.requireMember(groupId, userId);
    if (!(await this.options.posts.setMuted(groupId, userId, muted))) {
      throw new ForbiddenError(`You are not a member of ${context.groupName}.`);
    }
    return context.groupName;
  }

  // ---- current group --------------------------------------------------------------------------------------

  /** The member's current group, when they still belong to it (otherwise forgotten). */
  async currentGroup(
    userId: string,
  ): Promise<{ groupId: string; groupName: string; confirmed: boolean; context: PostingContext } | undefined> {
    const current = await this.options.current.get(userId);
    if (!current) return undefined;
    const context = await this.options.posts.postingContext(current.groupId, userId);
    if (!context?.member) {
      await this.options.current.clear(userId);
      return undefined;
    }
    return { groupId: current.groupId, groupName: context.groupName, confirmed: current.confirmedGroupId === current.groupId, context };
  }

  /** Created, joined, opened or replied in: that group becomes current. */
  async setCurrentGroup(userId: string, groupId: string): Promise<void> {
    await this.options.current.set(userId, groupId);
  }

  /** The member was told "Sent to <group>": later posts to that group get no reply. */
  async markConfirmed(userId: string, groupId: string): Promise<void> {
    await this.options.current.confirm(userId, groupId);
  }
}
