import { createHash } from 'node:crypto';
import type { Request, Server } from 'restify';
import type { VerifiedUser } from '../auth/entraTokenVerifier';
import type { ConversationService } from '../groups/conversationService';
import type { Group, Member, UserRef } from '../groups/model';
import type { Post } from '../groups/posts';
import { InvalidInputError } from '../errors';
import { threadNote } from '../groups/groupTypes';
import type { PostView } from './postView';

export type { PostView } from './postView';

type RouteHandler = (caller: { verified: VerifiedUser; user: UserRef }, req: Request) => Promise<{ status?: number; body: unknown }>;

export interface PostsApiContext {
  route(handler: RouteHandler): (req: Request, res: import('restify').Response) => Promise<void>;
  /** The membership check of every group route (a stranger gets the same 404 as for a missing group). */
  asMember(groupId: string, user: UserRef): Promise<{ group: Group; member: Member }>;
  conversation: Pick<ConversationService, 'history' | 'post'>;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,128}$/;
const SEQ = /^[1-9]\d{0,9}$/;

/**
 * GET /api/groups/:id/posts?before=<seq>: 20 posts a page, oldest first, `earlier` for the page before.
 * POST /api/groups/:id/posts with `Idempotency-Key`: the same key posts once (201 the first time, 200 with the
 * same post after). The sender's tenant is the verified token's `tid`.
 */
export function registerPostRoutes(server: Server, ctx: PostsApiContext): void {
  server.get(
    '/api/groups/:id/posts',
    ctx.route(async ({ user }, req) => {
      const groupId = String(req.params?.id ?? '');
      await ctx.asMember(groupId, user);
      const raw = (req.query as Record<string, unknown> | undefined)?.['before'];
      let before: number | undefined;
      if (raw !== undefined && raw !== '') {
        if (typeof raw !== 'string' || !SEQ.test(raw)) throw new InvalidInputError('That page of posts does not exist.');
        before = Number(raw);
      }
      const page = await ctx.conversation.history(groupId, user.id, before);
      return {
        body: { posts: page.posts.map((p) => postView(p, user.id)), ...(page.earlier !== undefined ? { earlier: page.earlier } : {}) },
      };
    }),
  );

  server.post(
    '/api/groups/:id/posts',
    ctx.route(async ({ verified, user }, req) => {
      const groupId = String(req.params?.id ?? '');
      await ctx.asMember(groupId, user);
      const key = req.header('Idempotency-Key');
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
        throw new InvalidInputError('Send an Idempotency-Key header (8 to 128 visible characters) with each new post.');
      }
      const body = (req.body ?? {}) as { text?: unknown; replyToSeq?: unknown };
      if (typeof body.text !== 'string') throw new InvalidInputError('The post needs a text.');
      const replyToSeq = body.replyToSeq === undefined ? undefined : Number(body.replyToSeq);
      if (replyToSeq !== undefined && (!Number.isInteger(replyToSeq) || replyToSeq < 1))
        throw new InvalidInputError('That post to reply to does not exist.');
      const outcome = await ctx.conversation.post({
        groupId,
        sender: { userId: user.id, name: user.name, tenantId: verified.tenantId, objectId: verified.objectId },
        text: body.text,
        // Per person: two people's keys never collide.
        sourceKey: createHash('sha256').update(`tab|${verified.objectId}|${key}`, 'utf8').digest('hex').slice(0, 40),
        ...(replyToSeq !== undefined ? { replyToSeq } : {}),
      });
      return { status: outcome.created ? 201 : 200, body: { post: postView(outcome.post, user.id) } };
    }),
  );
}

function postView(post: Post, viewerId: string): PostView {
  const deleted = post.deletedAt !== undefined;
  return {
    seq: post.seq,
    // A deleted post keeps its place only: no sender, text or quote (issue 17).
    sender: deleted ? { name: '', isYou: false } : { name: post.sender.name, isYou: post.sender.userId === viewerId },
    ...(deleted ? {} : { text: post.text }),
    createdAt: post.createdAt,
    ...(post.editedAt && !deleted ? { editedAt: post.editedAt } : {}),
    deleted,
    ...(post.replyTo && !deleted
      ? {
          replyTo: {
            seq: post.replyTo.seq,
            senderName: post.replyTo.senderName,
            preview: post.replyTo.preview,
            ...(post.replyTo.deleted ? { deleted: true } : {}),
          },
        }
      : {}),
    ...(post.thread && !deleted ? { threadNote: threadNote(post.thread, viewerId) } : {}),
    ...(post.action ? { action: post.action } : {}),
  };
}
