/**
 * The dry run of a bulk add (issue 18): what would happen to each row, and the counts, with nothing changed. The
 * admin reads it before pressing "Add N people"; the job that follows adds exactly the rows planned `add` or
 * `add_admin` (and creates the groups planned `create_group`).
 */
import type { BulkRow } from './addressList';
import { refKey, type BulkAddGroups, type DirectoryUser, type Standing, type TargetGroup, type UserDirectory } from './ports';

export type RowOutcome =
  | 'add'
  | 'add_admin'
  | 'already_member'
  | 'unknown_user'
  | 'not_in_organization'
  | 'removed_by_admin'
  | 'left_group'
  | 'unknown_group'
  | 'duplicate_row'
  | 'malformed';

export interface PlannedRow {
  line: number;
  raw: string;
  groupName: string;
  outcome: RowOutcome;
  /** In words, for the card and the CSV report. */
  reason: string;
  /** Set when the group exists (or will be created: then `groupId` is absent and `createGroup` is set). */
  groupId?: string;
  createGroup?: boolean;
  user?: DirectoryUser;
}

export interface BulkPlan {
  rows: PlannedRow[];
  counts: Record<RowOutcome, number>;
  /** Rows the job will add (add + add_admin). */
  toAdd: number;
  /** Groups the job will create (organization admins' rows naming a group that does not exist). */
  groupsToCreate: string[];
}

export interface PlanOptions {
  directory: UserDirectory;
  groups: BulkAddGroups;
  /** The organization the groups belong to: a directory user of another tenant, or a guest, is not added. */
  tenantId: string;
  /** "Add people who left": members who left on their own are added again. */
  addLeavers?: boolean;
  /** Organization admins: a row naming a group that does not exist creates it (owned by the organization). */
  createMissingGroups?: boolean;
}

const REASONS: Record<RowOutcome, string> = {
  add: 'will add',
  add_admin: 'will add as admin',
  already_member: 'already a member',
  unknown_user: 'unknown user: not found in the directory',
  not_in_organization: 'not in this organization (a guest account, or a user of another organization)',
  removed_by_admin: 'removed by an admin: let them back in with `allow` first',
  left_group: 'left the group: tick "add people who left" to add them again',
  unknown_group: 'no group of that name in your organization',
  duplicate_row: 'duplicate row',
  malformed: 'malformed row',
};

export const OUTCOMES = Object.keys(REASONS) as RowOutcome[];

/** Plans every row; reads the directory once for all rows and each group's standings once. */
export async function planBulkAdd(rows: readonly BulkRow[], options: PlanOptions): Promise<BulkPlan> {
  const usable = rows.filter((row) => !row.malformed && row.duplicateOf === undefined && row.person);
  const answers = await options.directory.lookup(usable.map((row) => row.person!));
  const groups = await resolveGroups(usable, options.groups);

  // Standings per group, for the people found.
  const byGroup = new Map<string, Set<string>>();
  for (const row of usable) {
    const group = groups.get(row.groupName.toLowerCase());
    const answer = answers.get(refKey(row.person!));
    if (group && answer && 'found' in answer)
      (byGroup.get(group.groupId) ?? byGroup.set(group.groupId, new Set()).get(group.groupId)!).add(answer.found.id);
  }
  const standings = new Map<string, Map<string, Standing>>();
  for (const [groupId, userIds] of byGroup) standings.set(groupId, await options.groups.standings(groupId, [...userIds]));

  const planned: PlannedRow[] = [];
  // The same directory user twice for one group (by address and by object id, say): the first row counts.
  const seen = new Map<string, number>();
  const groupsToCreate = new Set<string>();
  for (const row of rows) {
    const base = { line: row.line, raw: row.raw, groupName: row.groupName };
    if (row.malformed) {
      planned.push({ ...base, outcome: 'malformed', reason: `malformed: ${row.malformed}` });
      continue;
    }
    if (row.duplicateOf !== undefined) {
      planned.push({ ...base, outcome: 'duplicate_row', reason: `duplicate of line ${row.duplicateOf}` });
      continue;
    }
    const group = groups.get(row.groupName.toLowerCase());
    const creating = !group && options.createMissingGroups === true;
    if (!group && !creating) {
      planned.push({ ...base, outcome: 'unknown_group', reason: REASONS.unknown_group });
      continue;
    }
    const answer = answers.get(refKey(row.person!));
    if (!answer || 'missing' in answer) {
      planned.push({
        ...base,
        outcome: 'unknown_user',
        reason: answer?.missing === 'ambiguous' ? 'unknown user: more than one person has this number' : REASONS.unknown_user,
      });
      continue;
    }
    const user = answer.found;
    const target = { ...(group ? { groupId: group.groupId } : { createGroup: true }), user };
    if (user.guest || user.tenantId.toLowerCase() !== options.tenantId.toLowerCase()) {
      planned.push({ ...base, ...target, outcome: 'not_in_organization', reason: REASONS.not_in_organization });
      continue;
    }
    const personKey = `${row.groupName.toLowerCase()}\u0000${user.id}`;
    const earlier = seen.get(personKey);
    if (earlier !== undefined) {
      planned.push({ ...base, ...target, outcome: 'duplicate_row', reason: `duplicate of line ${earlier} (the same person)` });
      continue;
    }
    seen.set(personKey, row.line);
    const standing = group ? (standings.get(group.groupId)?.get(user.id) ?? 'none') : 'none';
    const outcome = outcomeFor(standing, row.role, options.addLeavers === true);
    if (creating && (outcome === 'add' || outcome === 'add_admin')) groupsToCreate.add(row.groupName);
    planned.push({ ...base, ...target, outcome, reason: REASONS[outcome] });
  }

  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<RowOutcome, number>;
  for (const row of planned) counts[row.outcome]++;
  return { rows: planned, counts, toAdd: counts.add + counts.add_admin, groupsToCreate: [...groupsToCreate] };
}

function outcomeFor(standing: Standing, role: 'member' | 'admin', addLeavers: boolean): RowOutcome {
  switch (standing) {
    case 'admin':
    case 'member':
      return 'already_member';
    case 'removed':
      return 'removed_by_admin';
    case 'left':
      if (!addLeavers) return 'left_group';
      return role === 'admin' ? 'add_admin' : 'add';
    case 'none':
      return role === 'admin' ? 'add_admin' : 'add';
  }
}

async function resolveGroups(rows: readonly BulkRow[], groups: BulkAddGroups): Promise<Map<string, TargetGroup>> {
  const names = [...new Set(rows.map((row) => row.groupName.toLowerCase()))];
  const found = new Map<string, TargetGroup>();
  for (const name of names) {
    const group = await groups.findByName(name);
    if (group) found.set(name, group);
  }
  return found;
}
