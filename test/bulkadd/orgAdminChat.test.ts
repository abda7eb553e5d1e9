import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BulkJobStore } from '../../src/bulkadd/jobStore';
import { PastedListRequests } from '../../src/bulkadd/pastedList';
import { SampleDirectory } from '../../src/bulkadd/sampleDirectory';
import { GroupService } from '../../src/groups/groupService';
import type { UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { BulkAddFlow } from '../../src/teams/handlers/bulkAddFlow';
import type { Requester } from '../../src/teams/handlers/groupActions';
import { freshTables } from '../helpers/azurite';

const CONTOSO = 't-contoso';
const OLGA: UserRef = { id: 'aad-olga', name: 'Olga Owner' };
const IDA: UserRef = { id: 'aad-ida', name: 'Ida IT' };
const MAL: UserRef = { id: 'aad-mal', name: 'Mal Member' };

/**
 * `add people` in chat by an organization admin (issue 18: "organization admins for any of their organization's
 * groups"): the box, the dry run and the job for a group she is not an admin of (nor a member), once her verified
 * sign-in says she is an organization admin of the group's owner; anyone else gets one plain line.
 */
describe('bulk add from chat by an organization admin (BulkAddFlow over PastedListRequests)', () => {
  let service: GroupService;
  let jobs: BulkJobStore;
  let flow: BulkAddFlow;
  let groupId: string;
  let kicks: number;
  const requester = (user: UserRef): Requester => ({
    user,
    activityId: randomUUID(),
    conversationRef: JSON.stringify({ conversation: { id: `a:${user.id}` } }),
    scope: { tenantId: CONTOSO, conversationId: `a:${user.id}` },
  });
  const list = { addresses: 'alexw@example.com, meganb@example.com', addLeavers: 'false' };
  const orgAdminOf = (tenant: string | undefined) => async () => tenant;

  before(async () => {
    jobs = new BulkJobStore((await freshTables()).clients.bulkjobs);
  });
  beforeEach(async () => {
    service = new GroupService({ store: new MemoryGroupStore(), appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    groupId = (await service.createGroup({ name: 'Depot West', creator: OLGA, idempotencyKey: randomUUID() })).id;
    await service.mapToOrganization({
      groupId,
      actor: OLGA,
      verified: { tenantId: CONTOSO, organizationName: 'Contoso', objectId: OLGA.id },
      idempotencyKey: randomUUID(),
    });
    await service.addByAdmin(groupId, { user: OLGA }, { user: MAL, role: 'member' });
    kicks = 0;
    flow = new BulkAddFlow(
      new PastedListRequests({ groups: service, directoryFor: (tenant) => new SampleDirectory(tenant), jobs, kick: () => void kicks++ }),
    );
  });

  it('gives her the box, the dry run and the job for a group of her organization she is not in', async () => {
    const box = await flow.start(requester(IDA), groupId, orgAdminOf(CONTOSO));
    assert.equal(box.cards.length, 1, box.text);
    const plan = await flow.check(requester(IDA), { groupId, ...list }, orgAdminOf(CONTOSO));
    assert.equal(plan.cards.length, 1, plan.text);
    assert.match(JSON.stringify(plan.cards[0]), /Add 2 people/);
    const started = await flow.confirm(requester(IDA), { groupId, ...list }, { serviceUrl: 'https://smba.example/' }, orgAdminOf(CONTOSO));
    assert.match(started.text ?? '', /^Adding 2 people to Depot West\./);
    assert.equal(kicks, 1);
    const [jobId] = await jobs.openJobs();
    const header = (await jobs.header(jobId!))!;
    assert.equal(header.orgAdmin, true, 'the worker adds as an organization admin');
    assert.equal(header.tenantId, CONTOSO);
    await jobs.finishJob(jobId!);
  });

  it('refuses, in one line, a member who is not an admin, an organization admin of another organization, and anyone unsigned', async () => {
    const line = 'Only admins of the group, and organization admins for their organization’s groups, can add people.';
    for (const [user, check] of [
      [MAL, orgAdminOf(undefined)],
      [IDA, orgAdminOf('t-fabrikam')],
      [IDA, undefined],
    ] as const) {
      assert.equal((await flow.start(requester(user), groupId, check)).text, line);
      assert.equal((await flow.check(requester(user), { groupId, ...list }, check)).text, line);
      assert.equal((await flow.confirm(requester(user), { groupId, ...list }, { serviceUrl: 'https://smba.example/' }, check)).text, line);
    }
    assert.equal(kicks, 0);
    assert.deepEqual(await jobs.openJobs(), []);
  });
});
