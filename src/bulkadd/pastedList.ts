/**
 * A group admin's pasted list, from the chat (issue 18): check it (the dry run, nothing changed), then start the
 * job that adds the people planned. The chat card and its buttons are the glue's; this knows nothing of Teams.
 * A private group has no organization, so the admin's own tenant is the one its people must belong to.
 */
import { ForbiddenError, InvalidInputError } from '../errors';
import type { GroupService } from '../groups/groupService';
import type { Actor, Group } from '../groups/model';
import { MAX_PASTED_ADDRESSES, readPastedList } from './addressList';
import { planBulkAdd, type BulkPlan } from './dryRun';
import { oneGroup } from './groupTargets';
import { jobInputOf } from './jobInput';
import { jobIdOf, type BulkJobStore } from './jobStore';
import type { UserDirectory } from './ports';

export const NOT_ADMIN = 'Only admins of the group, and organization admins for their organization’s groups, can add people.';

export interface PastedListOptions {
  groups: Pick<GroupService, 'getGroup' | 'getGroupAsMember' | 'listOrgGroups' | 'standingsFor'>;
  /** The organization's directory (Graph), or the sample directory without an app registration. */
  directoryFor(tenantId: string): UserDirectory;
  jobs: BulkJobStore;
  /** Asks the worker to look for work now rather than at its next tick. */
  kick(): void;
}

export interface ListRequest {
  groupId: string;
  text: string;
  addLeavers: boolean;
  /** The admin's tenant, from the activity: the tenant of a private group's people. */
  requesterTenantId?: string;
}

export class PastedListRequests {
  constructor(private readonly o: PastedListOptions) {}

  /**
   * The group, when the user is one of its admins, or an organization admin (verified by the caller: the actor
   * carries orgAdminOfTenant) of the organization that owns it; ForbiddenError otherwise.
   */
  async groupForAdmin(groupId: string, actor: Actor): Promise<Group> {
    if (actor.orgAdminOfTenant) {
      const group = await this.o.groups.getGroup(groupId);
      if (group.status === 'organization' && group.tenantId?.toLowerCase() === actor.orgAdminOfTenant.toLowerCase()) return group;
      throw new ForbiddenError(NOT_ADMIN);
    }
    const { group, member } = await this.o.groups.getGroupAsMember(groupId, actor.user.id);
    if (member.role !== 'admin') throw new ForbiddenError(NOT_ADMIN);
    return group;
  }

  /** The dry run: what would happen to each address. Changes nothing. */
  async check(actor: Actor, request: ListRequest): Promise<{ group: Group; plan: BulkPlan }> {
    const group = await this.groupForAdmin(request.groupId, actor);
    const tenantId = tenantOf(group, request.requesterTenantId);
    const rows = readPastedList(request.text, group.name);
    if (rows.length > MAX_PASTED_ADDRESSES) {
      throw new InvalidInputError(
        `That is ${rows.length} addresses; the chat takes at most ${MAX_PASTED_ADDRESSES} at a time. Remove some and check again.`,
      );
    }
    const plan = await planBulkAdd(rows, {
      directory: this.o.directoryFor(tenantId),
      groups: oneGroup(this.o.groups, actor, group),
      tenantId,
      addLeavers: request.addLeavers,
    });
    return { group, plan };
  }

  /**
   * Plans again (the list may have changed meanwhile) and writes the job of the rows to add; the same plan
   * confirmed twice is the same job, so nobody is added twice. `added`: how many the job adds (0: nobody left).
   */
  async start(
    actor: Actor,
    request: ListRequest & { serviceUrl: string; reportTo?: string },
  ): Promise<{ group: Group; added: number; jobId?: string }> {
    const { group, plan } = await this.check(actor, request);
    const { rows, skipped } = jobInputOf(plan, 'place', new Map([[group.id, group.name]]));
    if (rows.length === 0) return { group, added: 0 };
    const jobId = jobIdOf(actor.user.id, rows);
    await this.o.jobs.create(
      {
        jobId,
        tenantId: tenantOf(group, request.requesterTenantId),
        createdById: actor.user.id,
        createdByName: actor.user.name,
        createdAt: new Date().toISOString(),
        serviceUrl: request.serviceUrl,
        orgAdmin: actor.orgAdminOfTenant !== undefined,
        groups: JSON.stringify([group.name]),
        ...(request.reportTo ? { reportTo: request.reportTo } : {}),
      },
      rows,
      skipped,
    );
    this.o.kick();
    return { group, added: rows.length, jobId };
  }
}

/** An organization's group: its tenant. A private group: the admin's. */
function tenantOf(group: Group, requesterTenantId: string | undefined): string {
  const tenantId = group.status === 'organization' && group.tenantId ? group.tenantId : requesterTenantId;
  if (!tenantId) throw new InvalidInputError('Adding people needs your organization: open this chat in Teams with your work account.');
  return tenantId;
}
