/**
 * "Does the rest of a command resolve?" for the posts rule (src/groups/messageRule.ts), against what this member
 * may see: their groups (read once per turn), the current group's members and admins, the people admins removed
 * (both through the name index: a few storage requests, never the member list), and their organization's groups.
 */
import { isAppError } from '../../errors';
import type { GroupService } from '../../groups/groupService';
import type { Group } from '../../groups/model';
import type { CommandResolver } from '../../groups/messageRule';
import type { Requester } from './groupActions';

/** How many of a member's groups a command's group name is matched against. */
const NAME_LOOKUP_LIMIT = 500;

type Groups = Pick<GroupService, 'listMyGroups' | 'resolveInvite' | 'listOrgGroups' | 'membersNamed' | 'removedNamed'>;

export function commandResolver(groups: Groups, req: Requester, currentGroupId: string, tenantId: string): CommandResolver {
  let mine: Promise<Group[]> | undefined;
  const myGroups = () => (mine ??= allMyGroups(groups, req.user.id));
  const groupIdOf = async (groupName: string | undefined) =>
    groupName === undefined ? currentGroupId : matchByName(await myGroups(), groupName)?.id;
  // Two Daves count too: the command then asks for the full name, rather than "nobody called Dave".
  const hasMember = async (memberName: string, groupName: string | undefined, role?: 'admin') => {
    const groupId = await groupIdOf(groupName);
    if (groupId === undefined) return false;
    return refusedIsFalse(async () =>
      (await groups.membersNamed(groupId, { user: req.user }, memberName)).some((m) => role === undefined || m.role === role),
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
      if (groupId === undefined) return false;
      return refusedIsFalse(async () => (await groups.removedNamed(groupId, { user: req.user }, memberName)).length > 0);
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
