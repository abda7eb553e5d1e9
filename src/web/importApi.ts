import type { Request, Server } from 'restify';
import { InvalidInputError, NotFoundError, TooLargeError } from '../errors';
import type { ImportJobs } from '../import/importJobs';
import type { ImportService } from '../import/importService';
import type { PendingUploadStore } from '../import/pendingUploads';
import type { ImportPreview } from '../import/preview';
import { chatFileOf, MAX_UPLOAD_BYTES, UPLOAD_TOO_LARGE } from '../import/readExport';
import type { MemberName } from '../import/senderMatch';
import type { PostsApiContext } from './postsApi';

/*
 * The tab's "Import earlier messages" (issue 20), group admins only (the domain checks):
 *   POST /api/groups/:id/import?name=<file>&timeZone=<zone>   the file itself (application/octet-stream, up to
 *        50 MB; src/server.ts lets this one path past the 256 KB JSON body limit): the preview, with the members
 *        each sender may be matched to, and a token. Nothing is stored but the upload (its chat text), for Import.
 *   POST /api/groups/:id/import/:token/preview {timeZone, dateOrder}   the preview again, read another way.
 *   POST /api/groups/:id/import/:token {timeZone, senders: {<sender>: <member id>}}   Import: 202, the job runs.
 *   GET  /api/groups/:id/import/:token   the job's progress {state, written, total}; `done` once it is gone.
 *   GET  /api/groups/:id/imports, POST /api/groups/:id/imports/:importId/undo   the group's imports, Undo.
 */

export const IMPORT_UPLOAD_PATH = /^\/api\/groups\/[A-Za-z0-9_-]{1,64}\/import$/;
const TOKEN = /^[A-Za-z0-9_-]{16}$/;
const IMPORT_ID = /^[0-9a-f]{20}$/;
const EXPIRED = 'That preview has expired. Choose the file again.';

export interface ImportApiDependencies {
  imports: Pick<ImportService, 'preview' | 'imports' | 'undo'>;
  pending: PendingUploadStore;
  jobs: Pick<ImportJobs, 'run'>;
  onJobError?(err: unknown): void;
}

type Context = Pick<PostsApiContext, 'route' | 'asMember'> & { importing: ImportApiDependencies };

export function registerImportRoutes(server: Server, ctx: Context): void {
  const { imports, pending, jobs } = ctx.importing;

  server.post(
    '/api/groups/:id/import',
    ctx.route(async ({ user }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const bytes = await bodyOf(req);
      const file = await chatFileOf(text(req, 'name', 200) || 'export', bytes);
      const preview = await imports.preview(groupId, user, file, { timeZone: text(req, 'timeZone', 64) || 'UTC' });
      const token = await pending.put({ groupId, userId: user.id, file, timeZone: preview.timeZone });
      await pending.keepPacked(token, await preview.packed());
      return { body: { token, ...previewView(preview) } };
    }),
  );

  server.post(
    '/api/groups/:id/import/:token/preview',
    ctx.route(async ({ user }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const upload = await pending.get(tokenOf(req), user.id);
      if (!upload || upload.groupId !== groupId) throw new InvalidInputError(EXPIRED);
      const body = bodyObject(req);
      const dateOrder = body.dateOrder === 'day-first' || body.dateOrder === 'month-first' ? body.dateOrder : upload.dateOrder;
      const timeZone = typeof body.timeZone === 'string' && body.timeZone.trim() ? body.timeZone.trim() : upload.timeZone;
      const preview = await imports.preview(groupId, user, upload.file, { timeZone, ...(dateOrder ? { dateOrder } : {}) });
      await pending.update(upload.token, { timeZone: preview.timeZone, ...(dateOrder ? { dateOrder } : {}) });
      await pending.keepPacked(upload.token, await preview.packed());
      return { body: { token: upload.token, ...previewView(preview) } };
    }),
  );

  server.post(
    '/api/groups/:id/import/:token',
    ctx.route(async ({ user, verified }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const token = tokenOf(req);
      if ((await pending.status(token))?.state === 'importing') return { status: 202, body: { token, state: 'importing' } };
      const upload = await pending.get(token, user.id);
      if (!upload || upload.groupId !== groupId) throw new InvalidInputError(EXPIRED);
      const body = bodyObject(req);
      const senders: Record<string, string> = {};
      if (body.senders && typeof body.senders === 'object') {
        for (const [name, id] of Object.entries(body.senders as Record<string, unknown>))
          if (typeof id === 'string' && id) senders[name] = id;
      }
      const timeZone = typeof body.timeZone === 'string' && body.timeZone.trim() ? body.timeZone.trim() : upload.timeZone;
      await pending.order(token, {
        actor: { userId: user.id, name: user.name, tenantId: verified.tenantId },
        timeZone,
        ...(upload.dateOrder ? { dateOrder: upload.dateOrder } : {}),
        senders,
      });
      // The job runs on; the tab follows it (GET) on whichever instance answers. A crash here is resumed by a sweep.
      void jobs.run(token).catch((err: unknown) => ctx.importing.onJobError?.(err));
      return { status: 202, body: { token, state: 'importing' } };
    }),
  );

  server.get(
    '/api/groups/:id/import/:token',
    ctx.route(async ({ user }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const status = await pending.status(tokenOf(req));
      if (!status || status.groupId !== groupId) return { body: { state: 'done' } };
      return {
        body: {
          state: status.state === 'importing' ? 'importing' : 'waiting',
          written: status.written,
          total: status.total,
          ...(status.refusal ? { error: status.refusal } : {}),
        },
      };
    }),
  );

  server.get(
    '/api/groups/:id/imports',
    ctx.route(async ({ user }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const list = await imports.imports(groupId, user);
      return {
        body: {
          imports: list.imports.map((i) => ({
            importId: i.importId,
            source: i.source,
            fileName: i.fileName,
            by: i.by.name,
            startedAt: i.startedAt,
            state: i.state,
            count: i.count,
            ...(i.first ? { first: i.first } : {}),
            ...(i.last ? { last: i.last } : {}),
          })),
        },
      };
    }),
  );

  server.post(
    '/api/groups/:id/imports/:importId/undo',
    ctx.route(async ({ user }, req) => {
      const groupId = idOf(req);
      await ctx.asMember(groupId, user);
      const importId = String(req.params?.importId ?? '');
      if (!IMPORT_ID.test(importId)) throw new NotFoundError('That import was not found.');
      const { removed } = await imports.undo(groupId, user, importId);
      return { body: { removed } };
    }),
  );
}

function previewView(p: ImportPreview & { members: MemberName[] }) {
  return {
    source: p.source,
    fileName: p.fileName,
    found: p.found,
    importable: p.importable,
    system: p.system,
    media: p.media,
    deleted: p.deleted,
    ...(p.first ? { first: p.first, last: p.last } : {}),
    dateOrder: p.dateOrder,
    timeZone: p.timeZone,
    keptByRetention: p.keptByRetention,
    senders: p.senders.map((s) => ({ name: s.name, messages: s.messages, ...(s.match ? { match: s.match } : {}) })),
    members: p.members.map((m) => ({ userId: m.userId, name: m.name })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function idOf(req: Request): string {
  return String(req.params?.id ?? '');
}

function tokenOf(req: Request): string {
  const token = String(req.params?.token ?? '');
  if (!TOKEN.test(token)) throw new InvalidInputError(EXPIRED);
  return token;
}

function text(req: Request, name: string, max: number): string {
  const value = (req.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

function bodyObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** The upload's bytes, at most 50 MB: a larger declared length is refused unread, a longer stream cut off. */
function bodyOf(req: Request): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_UPLOAD_BYTES) return Promise.reject(new TooLargeError(UPLOAD_TOO_LARGE));
  if (req.contentType() !== 'application/octet-stream') {
    return Promise.reject(new InvalidInputError('Send the file as application/octet-stream.'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_UPLOAD_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new TooLargeError(UPLOAD_TOO_LARGE));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
