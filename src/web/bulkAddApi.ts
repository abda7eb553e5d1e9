import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Request, Response, Server } from 'restify';
import type { VerifiedUser } from '../auth/entraTokenVerifier';
import { MAX_INPUT_BYTES } from '../bulkadd/addressList';
import type { BulkPlan } from '../bulkadd/dryRun';
import type { JobRow } from '../bulkadd/jobStore';
import { inAttentionOrder, reportLine } from '../bulkadd/report';
import type { UploadRequest, UploadRequests, Uploader } from '../bulkadd/uploadRequests';
import { InvalidInputError, TooLargeError } from '../errors';
import type { UserRef } from '../groups/model';
import { csvCell } from './groupExport';

type RouteHandler = (
  caller: { verified: VerifiedUser; user: UserRef; token: string },
  req: Request,
) => Promise<{ status?: number; body: unknown }>;

export interface BulkAddApiContext {
  route(handler: RouteHandler): (req: Request, res: Response) => Promise<void>;
  requests: Pick<UploadRequests, 'check' | 'start' | 'progress'>;
  /** Whether the signed-in person is an organization admin of their tenant (the OrgAdmin app role, or configured). */
  isOrgAdmin(verified: VerifiedUser): boolean;
  /** The organization's display name (groups an organization admin's CSV creates belong to it). */
  organizationName(caller: { verified: VerifiedUser; token: string }): Promise<string>;
  /** Where the welcomes go out: the channel's service URL of the tenant (Teams' public one by default). */
  serviceUrl: string;
}

/** The example CSV in the repository: it names people of the built-in sample directory, so it works as is locally. */
export const EXAMPLE_CSV_PATH = [path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')]
  .map((root) => path.join(root, 'docs', 'bulkadd', 'sample-people.csv'))
  .find((candidate) => existsSync(candidate))!;
const JOB_ID = /^[0-9a-f]{32}$/;
const REPORT_COLUMNS = ['line', 'group', 'user', 'address', 'outcome', 'reason'] as const;
/**
 * Bulk add from the tab (issue 18), every route behind the tab's Teams SSO token:
 * - POST /api/bulkadd/check {groupId?, text?, csv? | csvGzip? (base64), addLeavers}: the dry run, nothing changed.
 * - POST /api/bulkadd/jobs (the same body): plans again and starts the job; the same plan twice is the same job.
 * - GET /api/bulkadd/jobs/:id: progress; when done, every row's outcome and reason, and the report as CSV text.
 * - GET /tab/bulkadd-example.csv: the example file (no sign-in: it names made-up people only).
 * A file comes gzipped and base64-encoded (the JSON body limit is 256 KB; 10,000 rows compress well under it).
 */
export function registerBulkAddRoutes(server: Server, ctx: BulkAddApiContext): void {
  const uploader = async (
    caller: { verified: VerifiedUser; user: UserRef; token: string },
    organizationName = false,
  ): Promise<Uploader> => {
    const orgAdmin = ctx.isOrgAdmin(caller.verified);
    return {
      user: { id: caller.user.id, name: caller.user.name || 'An admin' },
      tenantId: caller.verified.tenantId,
      orgAdmin,
      ...(orgAdmin && organizationName ? { organizationName: await ctx.organizationName(caller) } : {}),
    };
  };

  server.post(
    '/api/bulkadd/check',
    ctx.route(async (caller, req) => ({ body: planView(await ctx.requests.check(await uploader(caller), requestOf(req))) })),
  );

  server.post(
    '/api/bulkadd/jobs',
    ctx.route(async (caller, req) => {
      const started = await ctx.requests.start(await uploader(caller, true), requestOf(req), ctx.serviceUrl);
      return { status: started.jobId ? 202 : 200, body: started };
    }),
  );

  server.get(
    '/api/bulkadd/jobs/:id',
    ctx.route(async (caller, req) => {
      const id = String(req.params?.id ?? '');
      if (!JOB_ID.test(id)) throw new InvalidInputError('That is not a bulk add.');
      const progress = await ctx.requests.progress(await uploader(caller), id);
      const toLine = (row: JobRow) => {
        const { name, ...line } = reportLine(row);
        return { ...line, user: name };
      };
      return {
        body: {
          jobId: progress.jobId,
          status: progress.status,
          total: progress.total,
          done: progress.done,
          // The table shows the problems first (as the chat's report); the CSV keeps the file's line order.
          ...(progress.rows ? { rows: inAttentionOrder(progress.rows).map(toLine), csv: reportCsv(progress.rows.map(toLine)) } : {}),
        },
      };
    }),
  );

  server.get('/tab/bulkadd-example.csv', async (_req: Request, res: Response) => {
    const text = await readFile(EXAMPLE_CSV_PATH, 'utf8');
    res.writeHead(200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': 'attachment; filename="add-people-example.csv"',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-cache',
    });
    res.end(text);
  });
}

/** The report as a spreadsheet opens it safely: every cell quoted, none read as a formula. */
export function reportCsv(rows: ReadonlyArray<Record<(typeof REPORT_COLUMNS)[number], string | number>>): string {
  return [REPORT_COLUMNS.join(','), ...rows.map((row) => REPORT_COLUMNS.map((c) => csvCell(row[c])).join(','))].join('\r\n') + '\r\n';
}

function planView(plan: BulkPlan) {
  return {
    toAdd: plan.toAdd,
    counts: plan.counts,
    groupsToCreate: plan.groupsToCreate,
    rows: plan.rows.map((row) => ({
      line: row.line,
      raw: row.raw,
      group: row.groupName,
      outcome: row.outcome,
      reason: row.createGroup && (row.outcome === 'add' || row.outcome === 'add_admin') ? `${row.reason} (creates the group)` : row.reason,
      ...(row.user ? { name: row.user.displayName } : {}),
    })),
  };
}

function requestOf(req: Request): UploadRequest {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const text = typeof body['text'] === 'string' ? body['text'] : undefined;
  const groupId = typeof body['groupId'] === 'string' ? body['groupId'] : undefined;
  let csv = typeof body['csv'] === 'string' ? body['csv'] : undefined;
  if (typeof body['csvGzip'] === 'string') csv = gunzipped(body['csvGzip']);
  return {
    ...(groupId ? { groupId } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(csv !== undefined ? { csv } : {}),
    addLeavers: body['addLeavers'] === true,
  };
}

function gunzipped(base64: string): string {
  try {
    return gunzipSync(Buffer.from(base64, 'base64'), { maxOutputLength: MAX_INPUT_BYTES }).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new TooLargeError(`The file is larger than ${MAX_INPUT_BYTES / 1024 / 1024} MB. Split it into smaller files.`, { cause: err });
    }
    throw new InvalidInputError('That file could not be read. Choose it again.', { cause: err });
  }
}
