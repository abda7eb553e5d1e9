import type { Request, Response, Server } from 'restify';
import type { GroupService } from '../groups/groupService';
import type { Group, Invite, Member, UserRef } from '../groups/model';
import type { Logger } from '../logger';
import type { VerifiedUser } from '../auth/entraTokenVerifier';
import { TokenVerificationError } from '../auth/entraTokenVerifier';
import { DomainOrganizationDirectory, type OrganizationDirectory } from '../auth/organizationDirectory';
import { InvalidInputError, NotFoundError, RateLimitedError, UnauthenticatedError, isAppError, storageUnavailableIn } from '../errors';
import { inviteQrDataUrl } from '../../cards/qr';
import type { DocumentService } from './documentService';
import { groupPhotoUrl } from './groupPhoto';
import { registerPostRoutes, type PostsApiContext } from './postsApi';
import { registerImportedRoutes } from './importedApi';
import { registerMemberRoutes } from './membersApi';
import type { ImportService } from '../import/importService';
import { registerImportRoutes, type ImportApiDependencies } from './importApi';
import { registerBulkAddRoutes, type BulkAddApiContext } from './bulkAddApi';
import { registerActionRoutes, type ActionsApiContext } from './actionsApi';

/**
 * The tab's JSON API. Every route needs `Authorization: Bearer <Teams SSO token>`, verified exactly as the bot
 * verifies the token of an SSO exchange; the token's `oid` is the user id of the domain (the bot stores members
 * under the AAD object id too) and its `tid` is the only tenant id ever used for mapping.
 *
 * Object-level authorization: a group is visible to its members only. For anyone else a group route answers
 * exactly as for a group that does not exist, so ids cannot be probed.
 */

export interface ApiDependencies {
  groups: Pick<
    GroupService,
    | 'listMyGroups'
    | 'getGroupAsMember'
    | 'getInvite'
    | 'resetInviteLink'
    | 'resetInviteLinkFrom'
    | 'mapToOrganization'
    | 'listAdmins'
    | 'listMembers'
  >;
  verifier: { verify(token: string): Promise<VerifiedUser> };
  documents: Pick<DocumentService, 'documentLinks'>;
  publicUrl: string;
  logger: Logger;
  /** The organization's display name for mapping; the sign-in domain when absent or failing. */
  organizationDirectory?: OrganizationDirectory;
  /** Issue 10: the group's conversation (GET/POST /api/groups/:id/posts). */
  conversation?: PostsApiContext['conversation'];
  /** Issue 20: imported earlier messages (GET /api/groups/:id/imported). */
  imports?: Pick<ImportService, 'history'>;
  /** Issue 20: the tab's "Import earlier messages" (src/web/importApi.ts). */
  importing?: ImportApiDependencies;
  /** Issue 18: bulk add from the tab (/api/bulkadd/...). */
  bulkAdd?: Omit<BulkAddApiContext, 'route' | 'organizationName'>;
  /** Issue 19: announcements and polls (GET/POST /api/groups/:id/actions). */
  actions?: Pick<ActionsApiContext, 'actions' | 'posts' | 'reportUrl'>;
}

/** Identical for "no such group" and "not your group": the body must not tell them apart. */
export const GROUP_NOT_VISIBLE = 'This group does not exist, or you are not a member of it.';
/** Identical for every authentication failure; the reason goes to the log only. */
export const SIGN_IN_REQUIRED = 'Please sign in again.';
const SOMETHING_WENT_WRONG = 'Something went wrong.';

/**
 * The verifier to pass when no app id is configured (local runs): Teams SSO is impossible there, so every API
 * call is a clean 401 rather than a missing route.
 */
export const SSO_NOT_CONFIGURED: ApiDependencies['verifier'] = {
  async verify() {
    throw new UnauthenticatedError('Teams single sign-on is not configured.');
  },
};

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const GROUP_ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
const CONTINUATION_SHAPE = /^[\x21-\x7e]{1,2048}$/;

interface Caller {
  verified: VerifiedUser;
  user: UserRef;
  token: string;
}

type ApiResult = { status?: number; body: unknown };
type ApiHandler = (caller: Caller, req: Request) => Promise<ApiResult>;

import type { GroupDetail, GroupSummary, InviteView } from './apiViews';

export type { GroupDetail, GroupSummary, InviteView } from './apiViews';

export function apiRoutes(deps: ApiDependencies) {
  const directory = deps.organizationDirectory ?? new DomainOrganizationDirectory();
  const fallbackDirectory = new DomainOrganizationDirectory();
  const route = (handler: ApiHandler) => async (req: Request, res: Response) => {
    await respond(deps, req, res, handler);
  };

  /** The membership check of every group route: a stranger gets the same NotFound as for a missing group. */
  async function asMember(groupId: string, user: UserRef): Promise<{ group: Group; member: Member }> {
    if (!GROUP_ID_SHAPE.test(groupId)) throw new NotFoundError(GROUP_NOT_VISIBLE);
    try {
      return await deps.groups.getGroupAsMember(groupId, user.id);
    } catch (err) {
      if (isAppError(err) && (err.httpStatus === 403 || err.httpStatus === 404)) throw new NotFoundError(GROUP_NOT_VISIBLE, { cause: err });
      throw err;
    }
  }

  async function groupDetail(groupId: string, user: UserRef): Promise<GroupDetail> {
    const { group, member } = await asMember(groupId, user);
    const [invite, admins] = await Promise.all([deps.groups.getInvite(groupId, user), deps.groups.listAdmins(groupId)]);
    return {
      group: {
        ...summaryFields(group, deps.publicUrl),
        createdAt: group.createdAt,
        ...(group.mappedAt ? { mappedAt: group.mappedAt } : {}),
      },
      viewerIsAdmin: member.role === 'admin',
      invite: await inviteView(invite),
      admins: admins.map((admin) => ({ name: admin.user.name, isYou: admin.user.id === user.id })),
    };
  }

  async function organizationName(caller: Caller): Promise<string> {
    try {
      return await directory.organizationName(caller.verified, caller.token);
    } catch (err) {
      deps.logger.warn(
        { tenantId: caller.verified.tenantId, reason: err instanceof Error ? err.message : 'unknown' },
        'organization name lookup failed; using the sign-in domain',
      );
      return fallbackDirectory.organizationName(caller.verified);
    }
  }

  return (server: Server): void => {
    server.get(
      '/api/me/groups',
      route(async ({ user }, req) => {
        const raw = queryString(req, 'continuationToken');
        let continuationToken: string | undefined;
        if (raw !== undefined && raw !== '') {
          if (!CONTINUATION_SHAPE.test(raw)) throw new InvalidInputError('That page of groups does not exist.');
          continuationToken = raw;
        }
        const page = await deps.groups.listMyGroups(user.id, continuationToken ? { continuationToken } : {});
        const groups: GroupSummary[] = page.items.map((mine) => ({ ...summaryFields(mine.group, deps.publicUrl), role: mine.role }));
        return { body: { groups, ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) } };
      }),
    );

    server.get(
      '/api/groups/:id',
      route(async ({ user }, req) => ({ body: await groupDetail(groupIdOf(req), user) })),
    );

    server.post(
      '/api/groups/:id/invite/reset',
      route(async ({ user }, req) => {
        const groupId = groupIdOf(req);
        await asMember(groupId, user);
        // `from` names the link the page shows: a second click, a retried request or a reset from another
        // device at the same moment finds another link and resets nothing (decided in storage by the domain);
        // it gets the current link, `reset: false`, so the page shows the link that works.
        const from = queryString(req, 'from');
        if (from !== undefined) {
          const { invite, reset } = await deps.groups.resetInviteLinkFrom(groupId, user, { url: from });
          return { body: { invite: await inviteView(invite), reset } };
        }
        return { body: { invite: await inviteView(await deps.groups.resetInviteLink(groupId, user)), reset: true } };
      }),
    );

    server.post(
      '/api/groups/:id/organization',
      route(async (caller, req) => {
        const groupId = groupIdOf(req);
        await asMember(groupId, caller.user);
        // Only the verified token decides the tenant: nothing in the request body or headers is read.
        const { changed } = await deps.groups.mapToOrganization({
          groupId,
          actor: caller.user,
          verified: {
            tenantId: caller.verified.tenantId,
            objectId: caller.verified.objectId,
            organizationName: await organizationName(caller),
          },
          // One mapping per person and group: a double click or a retried request maps once.
          idempotencyKey: `tab|${caller.verified.objectId}|${groupId}`,
        });
        return { body: { changed, ...(await groupDetail(groupId, caller.user)) } };
      }),
    );

    server.post(
      '/api/groups/:id/documents',
      route(async ({ user }, req) => {
        const groupId = groupIdOf(req);
        await asMember(groupId, user);
        const links = await deps.documents.documentLinks(groupId, user.id);
        return { body: { ...links, expiresAt: links.expiresAt.toISOString() } };
      }),
    );

    if (deps.conversation) registerPostRoutes(server, { route, asMember, conversation: deps.conversation });
    if (deps.imports) registerImportedRoutes(server, { route, asMember, imports: deps.imports });
    if (deps.importing) registerImportRoutes(server, { route, asMember, importing: deps.importing });
    registerMemberRoutes(server, { route, asMember, groups: deps.groups });
    if (deps.bulkAdd) registerBulkAddRoutes(server, { ...deps.bulkAdd, route, organizationName });
    if (deps.actions && deps.conversation)
      registerActionRoutes(server, { route, asMember, conversation: deps.conversation, ...deps.actions });
  };
}

async function inviteView(invite: Invite): Promise<InviteView> {
  return { url: invite.url, joinCode: invite.joinCode, qrDataUrl: await inviteQrDataUrl(invite.url) };
}

/** The group id of the path; one that cannot be a group id is bad input (400), not "no such group". */
function groupIdOf(req: Request): string {
  const id = req.params?.id;
  if (typeof id !== 'string' || !GROUP_ID_SHAPE.test(id)) throw new InvalidInputError('That is not a group id.');
  return id;
}

/**
 * A query parameter that must be given at most once, as text: `?from=a&from=b` (an array) or `?from[x]=1` (an
 * object) is bad input, not something to ignore (ignoring `from` would reset a link the caller did not mean).
 */
function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`The query parameter "${name}" must be given once, as text.`);
  return value;
}

function summaryFields(group: Group, publicUrl: string): Omit<GroupSummary, 'role'> {
  return {
    id: group.id,
    name: group.name,
    memberCount: group.memberCount,
    status: group.status,
    ...(group.organizationName ? { organizationName: group.organizationName } : {}),
    ...(group.photo ? { photoUrl: groupPhotoUrl(publicUrl, group.id, group.photo.version) } : {}),
  };
}

async function authenticate(deps: ApiDependencies, req: Request): Promise<Caller> {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? BEARER.exec(header.trim()) : null;
  if (!match) {
    deps.logger.info({ path: req.path(), reason: header ? 'not_bearer' : 'missing' }, 'API request without a usable token');
    throw new UnauthenticatedError(SIGN_IN_REQUIRED);
  }
  const token = match[1]!;
  let verified: VerifiedUser;
  try {
    verified = await deps.verifier.verify(token);
  } catch (err) {
    const reason = err instanceof TokenVerificationError ? err.reason : isAppError(err) ? err.code : 'verifier_failed';
    deps.logger.warn({ path: req.path(), reason, ...(isAppError(err) ? {} : { err }) }, 'API token refused');
    throw new UnauthenticatedError(SIGN_IN_REQUIRED);
  }
  return { verified, token, user: { id: verified.objectId, name: verified.name ?? '' } };
}

async function respond(deps: ApiDependencies, req: Request, res: Response, handler: ApiHandler): Promise<void> {
  let status: number;
  let body: unknown;
  const headers: Record<string, string> = {};
  try {
    const caller = await authenticate(deps, req);
    const result = await handler(caller, req);
    status = result.status ?? 200;
    body = result.body;
  } catch (err) {
    if (isAppError(err)) {
      status = err.httpStatus;
      // A group that is not there and a group that is not yours read the same, whatever the domain said.
      body = { error: err.httpStatus === 404 ? GROUP_NOT_VISIBLE : err.httpStatus === 401 ? SIGN_IN_REQUIRED : err.userMessage };
      if (err.httpStatus === 401) headers['WWW-Authenticate'] = 'Bearer';
      if (err instanceof RateLimitedError) headers['Retry-After'] = String(err.retryAfterSeconds);
    } else if (storageUnavailableIn(err)) {
      const unavailable = storageUnavailableIn(err)!;
      deps.logger.warn({ path: req.path(), method: req.method, reason: unavailable.reason }, 'API request: storage unavailable');
      status = 503;
      body = { error: unavailable.userMessage };
      headers['Retry-After'] = '5';
    } else {
      deps.logger.error({ err, path: req.path(), method: req.method }, 'API request failed');
      status = 500;
      body = { error: SOMETHING_WENT_WRONG };
    }
  }
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(payload)),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}
