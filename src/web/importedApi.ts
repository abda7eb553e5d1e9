import type { Server } from 'restify';
import { InvalidInputError } from '../errors';
import type { ImportService } from '../import/importService';
import type { PostsApiContext } from './postsApi';

/** A page cursor as history hands it out (tableImportStore.ts's row key); anything else is refused, not queried. */
const CURSOR = /^imp\|\d{13}\|[0-9a-f]{20}\|\d{6}$/;

/**
 * GET /api/groups/:id/imported?before=<cursor> (issue 20): the group's imported earlier messages, 20 a page,
 * oldest first, `earlier` for the page before, under the visibility rule. Each message says it was imported
 * and from where; its sender is the name the export had, never a member's identity.
 */
export function registerImportedRoutes(
  server: Server,
  ctx: Pick<PostsApiContext, 'route' | 'asMember'> & { imports: Pick<ImportService, 'history'> },
): void {
  server.get(
    '/api/groups/:id/imported',
    ctx.route(async ({ user }, req) => {
      const groupId = String(req.params?.id ?? '');
      await ctx.asMember(groupId, user);
      const raw = (req.query as Record<string, unknown> | undefined)?.['before'];
      if (raw !== undefined && raw !== '' && (typeof raw !== 'string' || !CURSOR.test(raw))) {
        throw new InvalidInputError('That page of imported messages does not exist.');
      }
      const page = await ctx.imports.history(groupId, user.id, typeof raw === 'string' && raw !== '' ? raw : undefined);
      return {
        body: {
          messages: page.messages.map((m) => ({
            imported: true,
            source: m.source,
            at: m.at,
            senderName: m.sender,
            kind: m.kind,
            text: m.text,
            ...(m.fileName ? { fileName: m.fileName } : {}),
            ...(m.replyTo ? { replyTo: m.replyTo } : {}),
            // Only when an admin confirmed who this sender is; otherwise senderName is all there is.
            ...(m.member ? { member: { id: m.member.userId, name: m.member.name } } : {}),
          })),
          ...(page.earlier !== undefined ? { earlier: page.earlier } : {}),
        },
      };
    }),
  );
}
