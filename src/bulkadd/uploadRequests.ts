/**
 * Bulk add from the tab (issue 18): a pasted list for one group, or a `group,user,role` CSV that may name several
 * groups; the dry run, the job, its progress and its report. Group admins add to groups they run (a CSV's groups
 * are matched by name among their organization's groups they are admins of); organization admins to any group
 * of their organization, and a CSV row of theirs naming a group that does not exist creates it, owned by the
 * organization. Whether a caller is an organization admin is the glue's to verify (a signed token's role).
 */
import { createHash } from 'node:crypto';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors';
import type { GroupService } from '../groups/groupService';
import type { Actor, Group } from '../groups/model';
import { readCsv, readPastedList, type BulkRow } from './addressList';
import { planBulkAdd, type BulkPlan } from './dryRun';
import { adminGroups, oneGroup, organizationGroups } from './groupTargets';
import { jobInputOf } from './jobInput';
import { jobIdOf, type BulkJobStore, type JobHeader, type JobRow } from './jobStore';
import type { BulkAddGroups, UserDirectory } from './ports';
import { NOT_ADMIN } from './pastedList';

export const JOB_NOT_VISIBLE = 'This bulk add does not exist, or it is not yours.';

type Groups = Pick<
  GroupService,
  'getGroupAsMember' | 'getGroup' | 'listOrgGroups' | 'listMyGroups' | 'standingsFor' | 'createGroup' | 'mapToOrganization'
>;

export interface UploadRequestsOptions {
  groups: Groups;
  directoryFor(tenantId: string): UserDirectory;
  jobs: BulkJobStore;
  kick(): void;
}

/** Who asks, as the glue verified them. */
export interface Uploader {
  user: { id: string; name: string };
  /** The signed-in tenant (the token's `tid`). */
  tenantId: string;
  /** Holds the organization admin role of that tenant (verified by the glue). */
  orgAdmin: boolean;
  /** For groups an organization admin's CSV creates: the organization's display name. */
  organizationName?: string;
}

export interface UploadRequest {
  /** A pasted list: the group it is for. */
  groupId?: string;
  text?: string;
  /** A CSV file's text (header `group,user,role`). */
  csv?: string;
  addLeavers: boolean;
}

export interface JobProgress {
  jobId: string;
  status: JobHeader['status'];
  total: number;
  done: number;
  /** When done: every row, in line order. */
  rows?: JobRow[];
}

export class UploadRequests {
  constructor(private readonly o: UploadRequestsOptions) {}

  /** The dry run: nothing changed. */
  async check(who: Uploader, request: UploadRequest): Promise<BulkPlan> {
    return (await this.plan(who, request, false)).plan;
  }

  /** Plans again, creates the missing groups (organization admins), writes the job and wakes the worker. */
  async start(who: Uploader, request: UploadRequest, serviceUrl: string): Promise<{ jobId?: string; toAdd: number; total: number }> {
    let planned = await this.plan(who, request, false);
    if (planned.plan.groupsToCreate.length > 0) {
      for (const name of planned.plan.groupsToCreate) await this.createOrganizationGroup(who, name);
      planned = await this.plan(who, request, true);
    }
    const { plan, rows: input, fromCsv, tenantId } = planned;
    const { rows, skipped } = jobInputOf(plan, fromCsv ? 'line' : 'place');
    if (rows.length === 0) return { toAdd: 0, total: input.length };
    const jobId = jobIdOf(who.user.id, rows);
    await this.o.jobs.create(
      {
        jobId,
        tenantId,
        createdById: who.user.id,
        createdByName: who.user.name,
        createdAt: new Date().toISOString(),
        serviceUrl,
        orgAdmin: who.orgAdmin,
        groups: JSON.stringify([...new Set(rows.map((r) => r.groupName))].slice(0, 50)),
      },
      rows,
      skipped,
    );
    this.o.kick();
    return { jobId, toAdd: rows.length, total: rows.length + skipped.length };
  }

  /** How far the job is; its rows once it is done. Only its creator, or an organization admin of its tenant. */
  async progress(who: Uploader, jobId: string): Promise<JobProgress> {
    const header = await this.o.jobs.header(jobId);
    const mine =
      header && (header.createdById === who.user.id || (who.orgAdmin && header.tenantId.toLowerCase() === who.tenantId.toLowerCase()));
    if (!header || !mine) throw new NotFoundError(JOB_NOT_VISIBLE);
    const done = header.status === 'done';
    return {
      jobId,
      status: header.status,
      total: header.total,
      done: done ? header.total : (header.done ?? 0),
      ...(done ? { rows: await this.o.jobs.rows(jobId) } : {}),
    };
  }

  private async plan(
    who: Uploader,
    request: UploadRequest,
    created: boolean,
  ): Promise<{ plan: BulkPlan; rows: BulkRow[]; fromCsv: boolean; tenantId: string }> {
    const actor: Actor = { user: who.user, ...(who.orgAdmin ? { orgAdminOfTenant: who.tenantId.toLowerCase() } : {}) };
    // A CSV's groups are the signed-in organization's; a list's people belong to its group's organization (a
    // private group: the admin's own).
    let tenantId = who.tenantId.toLowerCase();
    let rows: BulkRow[];
    let targets: BulkAddGroups;
    let fromCsv = false;
    if (typeof request.csv === 'string' && request.csv.trim() !== '') {
      rows = readCsv(request.csv);
      targets = who.orgAdmin ? organizationGroups(this.o.groups, actor, tenantId) : adminGroups(this.o.groups, actor, tenantId);
      fromCsv = true;
    } else if (typeof request.text === 'string' && request.groupId) {
      const group = await this.groupForAdmin(request.groupId, actor);
      tenantId = group.tenantId?.toLowerCase() ?? tenantId;
      rows = readPastedList(request.text, group.name);
      targets = oneGroup(this.o.groups, actor, group);
    } else {
      throw new InvalidInputError('Paste some addresses, or choose a CSV file.');
    }
    const plan = await planBulkAdd(rows, {
      directory: this.o.directoryFor(tenantId),
      groups: targets,
      tenantId,
      addLeavers: request.addLeavers,
      createMissingGroups: who.orgAdmin && fromCsv && !created,
    });
    return { plan, rows, fromCsv, tenantId };
  }

  /** A group admin's group, or (organization admins) any group of their organization. */
  private async groupForAdmin(groupId: string, actor: Actor): Promise<Group> {
    if (actor.orgAdminOfTenant) {
      const group = await this.o.groups.getGroup(groupId).catch(() => undefined);
      if (group?.tenantId?.toLowerCase() === actor.orgAdminOfTenant) return group;
    }
    const { group, member } = await this.o.groups.getGroupAsMember(groupId, actor.user.id);
    if (member.role !== 'admin') throw new ForbiddenError(NOT_ADMIN);
    return group;
  }

  /** An organization admin's CSV names a group that does not exist: made, then owned by the organization. */
  private async createOrganizationGroup(who: Uploader, name: string): Promise<void> {
    // The same uploader and name give the same key, so a confirm pressed twice makes one group.
    const key = createHash('sha256')
      .update(`bulkcreate|${who.tenantId.toLowerCase()}|${who.user.id}|${name.trim().toLowerCase()}`)
      .digest('hex');
    const group = await this.o.groups.createGroup({ name, creator: who.user, idempotencyKey: key.slice(0, 40) });
    await this.o.groups.mapToOrganization({
      groupId: group.id,
      actor: who.user,
      verified: { tenantId: who.tenantId, objectId: who.user.id, organizationName: who.organizationName ?? who.tenantId },
      idempotencyKey: `bulk|${key.slice(0, 32)}`,
    });
  }
}
