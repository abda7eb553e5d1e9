import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ForbiddenError } from '../../src/errors';
import { readCsv, readPastedList } from '../../src/bulkadd/addressList';
import { planBulkAdd } from '../../src/bulkadd/dryRun';
import { oneGroup, organizationGroups } from '../../src/bulkadd/groupTargets';
import { SAMPLE_TENANT_ID, SampleDirectory } from '../../src/bulkadd/sampleDirectory';
import { GroupService } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';

/** The people of the sample directory, as the domain names them (object id, display name). */
const ALEX: UserRef = { id: '00000000-0000-0000-0000-0000000000020', name: 'Alex Wilber' };
const MEGAN: UserRef = { id: '00000000-0000-0000-0000-0000000000021', name: 'Megan Bowen' };
const ADELE: UserRef = { id: '00000000-0000-0000-0000-0000000000022', name: 'Adele Vance' };
const ISAIAH: UserRef = { id: '00000000-0000-0000-0000-0000000000023', name: 'Isaiah Langer' };

describe('bulk add: the dry run, on the domain with the sample directory', () => {
  let store: MemoryGroupStore;
  let service: GroupService;
  let depot: Group;
  const directory = new SampleDirectory();

  beforeEach(async () => {
    store = new MemoryGroupStore();
    service = new GroupService({ store, appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    depot = await service.createGroup({ name: 'Depot East', creator: ALEX, idempotencyKey: randomUUID() });
    const invite = await service.getInvite(depot.id, ALEX);
    for (const user of [MEGAN, ADELE, ISAIAH]) await service.join({ ref: invite.url, user });
    await service.removeMember(depot.id, { user: ALEX }, ADELE.id); // removed by an admin
    await service.leave(depot.id, ISAIAH); // left on his own
  });

  const plan = (text: string, options: { addLeavers?: boolean } = {}) =>
    planBulkAdd(readPastedList(text, 'Depot East'), {
      directory,
      groups: oneGroup(service, { user: ALEX }, depot),
      tenantId: SAMPLE_TENANT_ID,
      ...options,
    });

  it('names every outcome of a pasted list, with counts, and changes nothing', async () => {
    const before = JSON.stringify(
      await service.exportGroup(depot.id).then(async (e) => {
        const members = [];
        for await (const m of e.members) members.push(m.user.id);
        return members.sort();
      }),
    );
    const result = await plan(
      [
        'pattif@example.com', // will add
        'meganb@example.com', // already a member
        'alexw@example.com', // already a member (the admin)
        'adelev@example.com', // removed by an admin
        'isaiah@example.com', // left the group
        'nobody@example.com', // unknown user
        'kai_partner.example#ext#@example.com', // guest: not in this organization
        'PATTIF@example.com', // duplicate row
        'diegos@example.com', // will add
        'not an address', // malformed
        '+1 425 555 0106', // Diego again, by his mobile number: duplicate
      ].join('\n'),
    );
    assert.deepEqual(
      result.rows.map((r) => [r.line, r.outcome]),
      [
        [1, 'add'],
        [2, 'already_member'],
        [3, 'already_member'],
        [4, 'removed_by_admin'],
        [5, 'left_group'],
        [6, 'unknown_user'],
        [7, 'not_in_organization'],
        [8, 'duplicate_row'],
        [9, 'add'],
        [10, 'malformed'],
        [11, 'duplicate_row'],
      ],
    );
    assert.equal(result.toAdd, 2);
    assert.equal(result.counts.duplicate_row, 2);
    assert.equal(result.counts.add, 2);
    assert.match(result.rows[7]!.reason, /duplicate of line 1/);
    assert.match(result.rows[10]!.reason, /line 9 \(the same person\)/);
    assert.equal(result.rows[10]!.user?.displayName, 'Diego Siciliani');
    const after = JSON.stringify(
      await service.exportGroup(depot.id).then(async (e) => {
        const members = [];
        for await (const m of e.members) members.push(m.user.id);
        return members.sort();
      }),
    );
    assert.equal(after, before, 'the dry run added no one');
  });

  it('adds people who left again when the admin ticks it', async () => {
    const result = await plan('isaiah@example.com', { addLeavers: true });
    assert.deepEqual(
      result.rows.map((r) => r.outcome),
      ['add'],
    );
  });

  it('is for admins only', async () => {
    await assert.rejects(
      planBulkAdd(readPastedList('pattif@example.com', 'Depot East'), {
        directory,
        groups: oneGroup(service, { user: MEGAN }, depot),
        tenantId: SAMPLE_TENANT_ID,
      }),
      ForbiddenError,
    );
  });

  it("matches a CSV's groups by name among the organization's, and plans creating a missing one only for organization admins", async () => {
    await service.mapToOrganization({
      groupId: depot.id,
      actor: ALEX,
      verified: { tenantId: SAMPLE_TENANT_ID, objectId: ALEX.id, organizationName: 'Contoso' },
      idempotencyKey: randomUUID(),
    });
    const rows = readCsv('group,user,role\ndepot east,pattif@example.com,admin\nNight Shift,pattif@example.com,member\n');
    const orgAdmin = { user: ALEX, orgAdminOfTenant: SAMPLE_TENANT_ID };
    const asAdmin = await planBulkAdd(rows, {
      directory,
      groups: organizationGroups(service, orgAdmin, SAMPLE_TENANT_ID),
      tenantId: SAMPLE_TENANT_ID,
    });
    assert.deepEqual(
      asAdmin.rows.map((r) => [r.outcome, r.groupId]),
      [
        ['add_admin', depot.id],
        ['unknown_group', undefined],
      ],
    );
    const creating = await planBulkAdd(rows, {
      directory,
      groups: organizationGroups(service, orgAdmin, SAMPLE_TENANT_ID),
      tenantId: SAMPLE_TENANT_ID,
      createMissingGroups: true,
    });
    assert.deepEqual(
      creating.rows.map((r) => [r.outcome, r.createGroup === true]),
      [
        ['add_admin', false],
        ['add', true],
      ],
    );
    assert.deepEqual(creating.groupsToCreate, ['Night Shift']);
  });
});

describe('bulk add: the example CSV the repository carries', () => {
  it('names people of the sample directory, with one guest and one unknown address to show those outcomes', async () => {
    const text = readFileSync(path.join(__dirname, '..', '..', 'docs', 'bulkadd', 'sample-people.csv'), 'utf8');
    const rows = readCsv(text);
    assert.equal(rows.length, 20);
    assert.ok(rows.every((r) => !r.malformed && r.duplicateOf === undefined));
    const store = new MemoryGroupStore();
    const service = new GroupService({ store, appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    const owner = { id: '00000000-0000-0000-0000-0000000000020', name: 'Alex Wilber' };
    const groups = [];
    for (const name of ['Field Sales North', 'Depot East']) {
      const group = await service.createGroup({ name, creator: owner, idempotencyKey: randomUUID() });
      await service.mapToOrganization({
        groupId: group.id,
        actor: owner,
        verified: { tenantId: SAMPLE_TENANT_ID, objectId: owner.id, organizationName: 'Contoso' },
        idempotencyKey: randomUUID(),
      });
      groups.push(group);
    }
    const result = await planBulkAdd(rows, {
      directory: new SampleDirectory(),
      groups: organizationGroups(service, { user: owner, orgAdminOfTenant: SAMPLE_TENANT_ID }, SAMPLE_TENANT_ID),
      tenantId: SAMPLE_TENANT_ID,
    });
    assert.deepEqual(
      [result.counts.add, result.counts.add_admin, result.counts.not_in_organization, result.counts.unknown_user],
      [16, 2, 1, 1],
    );
  });
});
