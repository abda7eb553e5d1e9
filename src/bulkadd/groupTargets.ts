/**
 * The groups a bulk add may touch, over the domain: a group admin's one group (the rows of a pasted list name
 * it), or every group an organization admin's organization owns (a CSV may name several, by name).
 */
import type { GroupService } from '../groups/groupService';
import type { Actor, Group } from '../groups/model';
import type { BulkAddGroups, TargetGroup } from './ports';

type Groups = Pick<GroupService, 'listOrgGroups' | 'standingsFor'>;
type MyGroups = Pick<GroupService, 'listMyGroups' | 'standingsFor'>;

/** How many of an organization's groups a CSV's names are matched against. */
const ORG_GROUPS_LIMIT = 2_000;

export function oneGroup(groups: Groups, actor: Actor, group: Pick<Group, 'id' | 'name'>): BulkAddGroups {
  return {
    findByName: async (name) => (sameName(group.name, name) ? { groupId: group.id, name: group.name } : undefined),
    standings: (groupId, userIds) => groups.standingsFor(groupId, actor, userIds),
  };
}

/** An organization admin's groups (the actor carries orgAdminOfTenant, set only after the glue verified it). */
export function organizationGroups(groups: Groups, actor: Actor, tenantId: string): BulkAddGroups {
  return byNameAmong(groups, actor, async (continuationToken) => {
    const page = await groups.listOrgGroups(tenantId, { pageSize: 100, continuationToken });
    return { items: page.items, continuationToken: page.continuationToken };
  });
}

/** A group admin's CSV: the groups of the organization they are admins of, by name. */
export function adminGroups(groups: MyGroups, actor: Actor, tenantId: string): BulkAddGroups {
  const tenant = tenantId.toLowerCase();
  return byNameAmong(groups, actor, async (continuationToken) => {
    const page = await groups.listMyGroups(actor.user.id, { pageSize: 100, continuationToken });
    const items = page.items.filter((mine) => mine.role === 'admin' && mine.group.tenantId?.toLowerCase() === tenant).map((m) => m.group);
    return { items, continuationToken: page.continuationToken };
  });
}

type GroupPage = (continuationToken: string | undefined) => Promise<{ items: Group[]; continuationToken?: string }>;

function byNameAmong(groups: Pick<GroupService, 'standingsFor'>, actor: Actor, pageOf: GroupPage): BulkAddGroups {
  let byName: Promise<Map<string, TargetGroup[]>> | undefined;
  const index = async () => {
    const found = new Map<string, TargetGroup[]>();
    let continuationToken: string | undefined;
    let seen = 0;
    do {
      const page = await pageOf(continuationToken);
      for (const group of page.items) {
        const key = group.name.trim().toLowerCase();
        found.set(key, [...(found.get(key) ?? []), { groupId: group.id, name: group.name }]);
      }
      seen += page.items.length;
      continuationToken = page.continuationToken;
    } while (continuationToken && seen < ORG_GROUPS_LIMIT);
    return found;
  };
  return {
    findByName: async (name) => {
      const matches = (await (byName ??= index())).get(name.trim().toLowerCase()) ?? [];
      // Two groups of one name: the row cannot say which, so it matches neither.
      return matches.length === 1 ? matches[0] : undefined;
    },
    standings: (groupId, userIds) => groups.standingsFor(groupId, actor, userIds),
  };
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
