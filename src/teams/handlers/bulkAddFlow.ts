/**
 * `add people [group]` in chat (issue 18): the box for a pasted list, the dry run card, and Add N people. The
 * checking and the job are src/bulkadd's (PastedListRequests); this turns a turn into a request and the
 * answers into cards. A mistake in the list (empty, too long) or a non-admin gets one plain line.
 */
import { ForbiddenError, InvalidInputError, TooLargeError } from '../../errors';
import { MAX_PASTED_ADDRESSES } from '../../bulkadd/addressList';
import type { PastedListRequests, ListRequest } from '../../bulkadd/pastedList';
import { NOT_ADMIN } from '../../bulkadd/pastedList';
import type { Actor, Group } from '../../groups/model';
import type { BulkPlan, RowOutcome } from '../../bulkadd/dryRun';
import { ADD_LEAVERS_INPUT, ADDRESSES_INPUT, buildAddPeopleCard, buildBulkPlanCard } from '../../../cards/bulkAdd';
import { inline } from '../../../cards/text';
import type { CardData } from '../../../cards/verbs';
import type { Requester } from './groupActions';
import { cardReply, textReply, type Reply } from '../replies';

/** The counts' words, in the order the dry run card shows them. */
const COUNT_LABELS: Record<RowOutcome, string> = {
  add: 'will add',
  add_admin: 'will add as admin',
  already_member: 'already members',
  left_group: 'left the group',
  removed_by_admin: 'removed by an admin',
  not_in_organization: 'not in this organization',
  unknown_user: 'unknown',
  unknown_group: 'unknown group',
  duplicate_row: 'duplicates',
  malformed: 'not an address',
};

export const PERSONAL_CHAT_ONLY = 'Add people from your personal chat with me: the list and the report name people.';

/** Where the request came from, for the job: the channel to welcome people on and the admin's chat for the report. */
export interface TurnOrigin {
  serviceUrl: string;
}

export class BulkAddFlow {
  constructor(private readonly requests: PastedListRequests) {}

  async start(req: Requester, groupId: string, orgAdmin?: OrgAdminCheck): Promise<Reply> {
    return this.refusingPlainly(req, async () => {
      return this.cardFor(await asAdmin(req, orgAdmin, (actor) => this.requests.groupForAdmin(groupId, actor)));
    });
  }

  /** The box for the list, for a group the asker may add people to (checked by the caller). */
  cardFor(group: Pick<Group, 'id' | 'name'>): Reply {
    return cardReply(buildAddPeopleCard({ groupId: group.id, groupName: group.name, maxAddresses: MAX_PASTED_ADDRESSES }));
  }

  async check(req: Requester, data: CardData, orgAdmin?: OrgAdminCheck): Promise<Reply> {
    return this.refusingPlainly(req, async () => {
      const request = requestOf(req, data);
      const { group, plan } = await asAdmin(req, orgAdmin, (actor) => this.requests.check(actor, request));
      return cardReply(
        buildBulkPlanCard({
          groupId: group.id,
          groupName: group.name,
          counts: countsOf(plan),
          rows: plan.rows.map((row) => ({ raw: row.raw, reason: row.reason })),
          toAdd: plan.toAdd,
          addresses: request.text,
          addLeavers: request.addLeavers,
        }),
      );
    });
  }

  async confirm(req: Requester, data: CardData, origin: TurnOrigin, orgAdmin?: OrgAdminCheck): Promise<Reply> {
    return this.refusingPlainly(req, async () => {
      const request = { ...requestOf(req, data), serviceUrl: origin.serviceUrl, reportTo: req.conversationRef };
      const { group, added } = await asAdmin(req, orgAdmin, (actor) => this.requests.start(actor, request));
      if (added === 0)
        return textReply(`Nobody on the list can be added to ${inline(group.name)} now: they are members already, or cannot be added.`);
      return textReply(
        `Adding ${added === 1 ? '1 person' : `${added} people`} to ${inline(group.name)}. I will send you the report here when it is done.`,
      );
    });
  }

  /**
   * Mistakes in the list and refusals are one line of text, not an error card. Only in the admin's personal
   * chat: the list and the report name people, and the report comes back to that chat.
   */
  private async refusingPlainly(req: Requester, run: () => Promise<Reply>): Promise<Reply> {
    if (!req.conversationRef) return textReply(PERSONAL_CHAT_ONLY);
    try {
      return await run();
    } catch (err) {
      if (err instanceof InvalidInputError || err instanceof TooLargeError || err instanceof ForbiddenError)
        return textReply(err.userMessage);
      throw err;
    }
  }
}

/**
 * The organization admin's tenant when the person is one, from a sign-in verified already (never a prompt);
 * undefined when they are not, or not signed in.
 */
export type OrgAdminCheck = () => Promise<string | undefined>;

/**
 * As a group admin; refused that (not an admin, not a member), as an organization admin of the group's owner
 * when the verified sign-in says they are one. Anyone else gets the one clear line.
 */
async function asAdmin<T>(req: Requester, orgAdmin: OrgAdminCheck | undefined, run: (actor: Actor) => Promise<T>): Promise<T> {
  try {
    return await run({ user: req.user });
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    const tenant = await orgAdmin?.();
    if (!tenant) throw new ForbiddenError(NOT_ADMIN, { cause: err });
    return run({ user: req.user, orgAdminOfTenant: tenant.toLowerCase() });
  }
}

function requestOf(req: Requester, data: CardData): ListRequest {
  const text = data[ADDRESSES_INPUT];
  const leavers = data[ADD_LEAVERS_INPUT];
  return {
    groupId: String(data.groupId ?? ''),
    text: typeof text === 'string' ? text : '',
    addLeavers: leavers === true || leavers === 'true',
    ...(req.scope?.tenantId ? { requesterTenantId: req.scope.tenantId } : {}),
  };
}

function countsOf(plan: BulkPlan): Array<{ label: string; count: number }> {
  return (Object.keys(COUNT_LABELS) as RowOutcome[])
    .filter((outcome) => plan.counts[outcome] > 0)
    .map((outcome) => ({ label: COUNT_LABELS[outcome], count: plan.counts[outcome] }));
}
