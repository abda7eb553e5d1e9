/**
 * "Does the rest of a command resolve?" for the posts rule (src/groups/messageRule.ts), against what this member
 * may see: their groups (read once per turn), the current group's members and admins, the people admins removed,
 * and their organization's groups.
 */
import { isAppError } from '../../errors';
import type { GroupService } from '../../groups/groupService';
import type { Group, Page } from '../../groups/model';
import type { CommandResolver } from '../../groups/messageRule';
import type { Requester } from './groupActions';

/** How many of a member's groups a command's group name is matched against. */
const NAME_LOOKUP_LIMIT = 500;

type Groups = Pick<GroupService, 'listMyGroups' | 'resolveInvite' | 'listOrgGroups' | 'listMembers' | 'listBans'>;

export function commandResolver(groups: Groups, req: Requester, currentGroupId: string, tenantId: string): CommandResolver {
  let mine: Promise<Group[]> | undefined;
  const myGroups = () => (mine ??= allMyGroups(groups, req.user.id));
  const groupIdOf = async (groupName: string | undefined) =>
    groupName === undefined ? currentGroupId : matchByName(await myGroups(), groupName)?.id;
  const named = (name: string) => {
    const wanted = name.trim().toLowerCase();
    // Two Daves count too: the command then asks for the full name, rather than "nobody called Dave".
    return (user: { id: string; name: string }) => wanted !== '' && (user.id === name.trim() || user.name.toLowerCase().includes(wanted));
  };
  const hasMember = async (memberName: string, groupName: string | undefined, role?: 'admin') => {
    const groupId = await groupIdOf(groupName);
    const match = named(memberName);
    return (
      groupId !== undefined &&
      anyInPages(
        (token) => groups.listMembers(groupId, { user: req.user }, page(token)),
        (m) => (role === undefined || m.role === role) && match(m.user),
      )
    );
  };
  return {
    isValidInvite: async (rest) => refusedIsFalse(async () => (await groups.resolveInvite(rest), true)),
    isMyGroup: async (name) => matchByName(await myGroups(), name) !== undefined,
    isMember: (memberName, groupName) => hasMember(memberName, groupName),
    isAdmin: (memberName, groupName) => hasMember(memberName, groupName, 'admin'),
    // Only admins see who was removed; for anyone else `allow ...` never resolves (so it is a post).
    isRemoved: async (memberName, groupName) => {
      const groupId = await groupIdOf(groupName);
      const match = named(memberName);
      return (
        groupId !== undefined &&
        anyInPages(
          (token) => groups.listBans(groupId, { user: req.user }, page(token)),
          (b) => match(b.user),
        )
      );
    },
    isOrgGroup: async (name) => {
      if (!tenantId) return false;
      // Organizations are stored by lower-case tenant id (the verified token's); an activity may say it in capitals.
      const found = await groups.listOrgGroups(tenantId.toLowerCase(), { pageSize: 100 });
      return matchByName(found.items, name) !== undefined;
    },
  };
}

const page = (continuationToken: string | undefined) => ({ pageSize: 100, continuationToken });

/** True when an item of any page matches; a refusal (not an admin, the group gone) means no. */
function anyInPages<T>(next: (token: string | undefined) => Promise<Page<T>>, matches: (item: T) => boolean): Promise<boolean> {
  return refusedIsFalse(async () => {
    let continuationToken: string | undefined;
    do {
      const found = await next(continuationToken);
      if (found.items.some(matches)) return true;
      continuationToken = found.continuationToken;
    } while (continuationToken);
    return false;
  });
}

async function refusedIsFalse(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch (err) {
    if (isAppError(err)) return false;
    throw err;
  }
}

async function allMyGroups(groups: Groups, userId: string): Promise<Group[]> {
  const found: Group[] = [];
  let continuationToken: string | undefined;
  do {
    const result = await groups.listMyGroups(userId, page(continuationToken));
    found.push(...result.items.map((g) => g.group));
    continuationToken = result.continuationToken;
  } while (continuationToken && found.length < NAME_LOOKUP_LIMIT);
  return found;
}

/** A group by id, exact name, or a unique part of its name (what a command would resolve to). */
function matchByName(groups: readonly Group[], name: string): Group | undefined {
  const wanted = name.trim().toLowerCase();
  if (!wanted) return undefined;
  const exact = groups.filter((g) => g.id === name.trim() || g.name.toLowerCase() === wanted);
  const partial = exact.length ? exact : groups.filter((g) => g.name.toLowerCase().includes(wanted));
  return partial.length === 1 ? partial[0] : undefined;
}
