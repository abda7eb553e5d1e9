import { createHash } from 'node:crypto';
import type { Server } from 'restify';
import type { ActionPosts } from '../actions/actionPosts';
import type { ActionService, ActionView } from '../actions/actionService';
import type { ConversationService } from '../groups/conversationService';
import type { UserRef } from '../groups/model';
import { InvalidInputError } from '../errors';
import type { PostsApiContext } from './postsApi';
import type { ActionApiView } from './actionApiView';

export type { ActionApiView } from './actionApiView';

export interface ActionsApiContext extends Pick<PostsApiContext, 'route' | 'asMember'> {
  actions: ActionService;
  posts: ActionPosts;
  conversation: Pick<ConversationService, 'history'>;
  reportUrl(groupId: string, actionId: string, user: UserRef): string;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,128}$/;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * The tab's announcements and polls (issue 19), members only, like every group route:
 * - GET /api/groups/:id/actions: those among the latest posts the caller may see, each as they may see it
 *   (results after voting or for managers, the counts "312 of 1,200", the report link for managers);
 * - POST /api/groups/:id/actions with an Idempotency-Key: a new announcement or poll, posted like a post.
 */
export function registerActionRoutes(server: Server, ctx: ActionsApiContext): void {
  const view = (v: ActionView, user: UserRef): ActionApiView => {
    const a = v.action;
    return {
      id: a.actionId,
      kind: a.kind,
      title: a.kind === 'poll' ? a.question : a.title,
      ...(a.kind === 'announcement' ? { text: a.text } : { options: a.options, anonymous: a.anonymous }),
      createdAt: a.createdAt,
      senderName: a.createdBy.name,
      open: v.open,
      ...(v.mine ? { answeredAt: v.mine.at } : {}),
      ...(v.results ? { results: v.results } : {}),
      ...(v.memberCount !== undefined ? { memberCount: v.memberCount } : {}),
      ...(v.mayManage ? { reportUrl: ctx.reportUrl(a.groupId, a.actionId, user) } : {}),
    };
  };

  server.get(
    '/api/groups/:id/actions',
    ctx.route(async ({ user }, req) => {
      const groupId = String(req.params?.id ?? '');
      await ctx.asMember(groupId, user);
      const page = await ctx.conversation.history(groupId, user.id);
      const ids = page.posts.filter((p) => p.action && !p.deletedAt).map((p) => p.action!.id);
      const views = await Promise.all(ids.reverse().map((id) => ctx.actions.view(groupId, id, user)));
      return { body: { actions: views.map((v) => view(v, user)) } };
    }),
  );

  server.post(
    '/api/groups/:id/actions',
    ctx.route(async ({ verified, user }, req) => {
      const key = req.header('Idempotency-Key');
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))
        throw new InvalidInputError('Send an Idempotency-Key header (8 to 128 visible characters) with each new announcement or poll.');
      const groupId = String(req.params?.id ?? '');
      await ctx.asMember(groupId, user);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const sender = { userId: user.id, name: user.name, tenantId: verified.tenantId, objectId: verified.objectId };
      const sourceKey = createHash('sha256').update(`tab-action|${verified.objectId}|${key}`, 'utf8').digest('hex').slice(0, 40);
      const when = (v: unknown) => (text(v) === '' ? undefined : text(v));
      const published =
        body.kind === 'poll'
          ? await ctx.posts.poll(
              {
                groupId,
                question: text(body.question),
                options: Array.isArray(body.options) ? body.options.map(text) : [],
                multi: body.multi === true,
                anonymous: body.anonymous === true,
                resultsFor: body.resultsFor === 'admins' ? 'admins' : 'everyone',
                closesAt: when(body.closesAt),
              },
              sender,
              sourceKey,
            )
          : body.kind === 'announcement'
            ? await ctx.posts.announce(
                { groupId, title: text(body.title), text: text(body.text), askConfirm: body.askConfirm !== false, dueAt: when(body.dueAt) },
                sender,
                sourceKey,
              )
            : undefined;
      if (!published) throw new InvalidInputError('Say "announcement" or "poll" as the kind.');
      const current = await ctx.actions.view(groupId, published.action.actionId, user);
      return { status: published.created ? 201 : 200, body: { action: view(current, user) } };
    }),
  );
}
