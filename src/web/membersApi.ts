import type { Request, Server } from 'restify';
import type { VerifiedUser } from '../auth/entraTokenVerifier';
import type { GroupService } from '../groups/groupService';
import type { Group, Member, UserRef } from '../groups/model';
import { InvalidInputError } from '../errors';

type RouteHandler = (caller: { verified: VerifiedUser; user: UserRef }, req: Request) => Promise<{ status?: number; body: unknown }>;

export interface MembersApiContext {
  route(handler: RouteHandler): (req: Request, res: import('restify').Response) => Promise<void>;
  /** The membership check of every group route (a stranger gets the same 404 as for a missing group). */
  asMember(groupId: string, user: UserRef): Promise<{ group: Group; member: Member }>;
  groups: Pick<GroupService, 'listMembers'>;
}

/** The tab's members list: 50 a page, like the chat's members card (issue 18). */
export const MEMBERS_API_PAGE = 50;
const TOKEN_SHAPE = /^[\x21-\x7e]{1,2048}$/;

/** One member as the tab shows them. */
export interface MemberView {
  name: string;
  role: 'admin' | 'member';
  isYou: boolean;
}

/**
 * GET /api/groups/:id/members?search=<part of a name>&continuationToken=<from the previous page>: 50 members a
 * page (a search reads a bounded slice of a big group per call and says where to go on). A member of a group
 * whose members do not see each other gets the admins and themselves (`adminsOnly`), never other members.
 */
export function registerMemberRoutes(server: Server, ctx: MembersApiContext): void {
  server.get(
    '/api/groups/:id/members',
    ctx.route(async ({ user }, req) => {
      const groupId = String(req.params?.id ?? '');
      const { group, member } = await ctx.asMember(groupId, user);
      const search = queryText(req, 'search', 100);
      const continuationToken = queryText(req, 'continuationToken', 2048);
      if (continuationToken !== undefined && !TOKEN_SHAPE.test(continuationToken))
        throw new InvalidInputError('That page of members does not exist.');
      const page = await ctx.groups.listMembers(
        groupId,
        { user },
        { pageSize: MEMBERS_API_PAGE, ...(continuationToken ? { continuationToken } : {}), ...(search ? { search } : {}) },
      );
      const members: MemberView[] = page.items.map((m) => ({ name: m.user.name, role: m.role, isYou: m.user.id === user.id }));
      return {
        body: {
          memberCount: group.memberCount,
          adminsOnly: group.membersHidden === true && member.role !== 'admin',
          members,
          ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
        },
      };
    }),
  );
}

/** A query parameter given at most once, as text, trimmed (empty: absent). */
function queryText(req: Request, name: string, maxChars: number): string | undefined {
  const value = (req.query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > maxChars)
    throw new InvalidInputError(`The query parameter "${name}" must be given once, as text.`);
  return value.trim() === '' ? undefined : value.trim();
}
