import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GraphBudget } from '../../src/bulkadd/graphBudget';
import { GraphDirectory } from '../../src/bulkadd/graphDirectory';
import { GraphInstaller } from '../../src/bulkadd/graphInstaller';
import { BulkJobStore, type JobRow } from '../../src/bulkadd/jobStore';
import { BulkAddWorker, type Reacher, type Welcomer } from '../../src/bulkadd/jobWorker';
import { UploadRequests, type Uploader } from '../../src/bulkadd/uploadRequests';
import { GroupService } from '../../src/groups/groupService';
import type { Group, UserRef } from '../../src/groups/model';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { reportCsv } from '../../src/web/bulkAddApi';
import { reportLine } from '../../src/bulkadd/report';
import { freshTables } from '../helpers/azurite';
import { FakeGraphDirectory, type DirectoryPerson } from '../helpers/fakeGraphDirectory';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = '99999999-8888-7777-6666-555555555555';
const SECRET = 'not-a-real-secret';

/**
 * A 1,000-row CSV over three groups (and a fourth the organization admin's file creates) through the tab's
 * requests, the job store and worker on Azurite, and the Graph stand-in with every kind of answer: each row's
 * outcome and reason in the report; a rerun adds and welcomes no one twice; two instances share the job.
 */
describe('bulk add: a 1,000-row CSV with every failure kind', function () {
  this.timeout(180_000);
  let tables: TableClients;
  let fake: FakeGraphDirectory;
  let service: GroupService;
  let jobs: BulkJobStore;
  let requests: UploadRequests;
  let groups: Group[];
  const orgAdmin: UserRef = { id: randomUUID(), name: 'Olga Orgadmin' };
  const uploader: Uploader = { user: orgAdmin, tenantId: TENANT, orgAdmin: true, organizationName: 'Contoso' };
  const people: DirectoryPerson[] = Array.from({ length: 900 }, (_, i) => ({
    id: randomUUID(),
    displayName: `Person ${i}`,
    userPrincipalName: `p${i}@contoso.example`,
    ...(i % 50 === 1 ? { userType: 'Guest' as const } : {}),
    ...(i >= 880 ? { mobilePhone: `+4420700${String(i).padStart(5, '0')}` } : {}),
  }));
  const GROUP_NAMES = ['Depot East', 'Field Sales', 'Night Shift'];
  const welcomes = new Map<string, number>();
  const welcomer: Welcomer = {
    async welcome(_job, row: JobRow) {
      const key = `${row.groupId}|${row.userId}`;
      welcomes.set(key, (welcomes.get(key) ?? 0) + 1);
    },
  };
  let budgetCalls = 0;

  /** An instance's worker; `dieAtChunk`: it crashes after that chunk's installs, before any add of it. */
  const worker = (holder: string, dieAtChunk?: number) => {
    const budget = new GraphBudget({ table: tables.bulkjobs, holder, rps: 2_000 }).forTenant(TENANT);
    const installer = new GraphInstaller({
      client: fake.client(TENANT),
      manifestAppId: APP_ID,
      findChat: false,
      take: (n) => ((budgetCalls += n), budget.take(n)),
      sleep: (ms) => budget.pause(ms),
    });
    let chunks = 0;
    const reacher: Reacher = {
      reach: async (ids) => {
        const reached = await installer.reach(ids);
        if (++chunks === dieAtChunk) throw new Error('SIGKILL');
        return reached;
      },
    };
    return new BulkAddWorker({
      store: jobs,
      groups: service,
      reacherFor: () => reacher,
      welcomer,
      holder,
      botId: `28:${APP_ID}`,
      chunk: 40,
      leaseMs: 1_500,
    });
  };

  /** The file: groups in turn, person i in group i % 3, and rows of every other kind. */
  function csv(): string {
    const lines = ['group,user,role'];
    for (let i = 0; i < 880; i++) lines.push(`${GROUP_NAMES[i % 3]},p${i}@contoso.example,${i % 100 === 0 ? 'admin' : 'member'}`);
    for (let i = 880; i < 900; i++) lines.push(`${GROUP_NAMES[i % 3]},+44 20700 ${String(i).padStart(5, '0')},member`); // mobile numbers
    for (let i = 0; i < 40; i++) lines.push(`${GROUP_NAMES[i % 3]},nobody${i}@contoso.example,member`); // unknown users
    for (let i = 0; i < 20; i++) lines.push(`${GROUP_NAMES[i % 3]},not an address ${i},member`); // malformed
    for (let i = 10; i < 30; i++) lines.push(`${GROUP_NAMES[i % 3]},P${i}@CONTOSO.EXAMPLE,member`); // duplicates
    for (let i = 0; i < 10; i++) lines.push(`Warehouse North,p${i * 3}@contoso.example,member`); // a group to create
    for (let i = 0; i < 10; i++) lines.push(`${GROUP_NAMES[0]},p${900 + i}@contoso.example,boss`); // malformed role
    return lines.join('\n');
  }

  before(async () => {
    ({ clients: tables } = await freshTables());
    fake = await FakeGraphDirectory.start({ appId: APP_ID, secret: SECRET, people });
    fake.catalog.set(APP_ID, 'catalog-app');
    service = new GroupService({ store: new TableGroupStore(tables), appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    jobs = new BulkJobStore(tables.bulkjobs);
    requests = new UploadRequests({
      groups: service,
      directoryFor: (tenantId) => new GraphDirectory({ client: fake.client(tenantId), tenantId }),
      jobs,
      kick: () => undefined,
    });
    groups = [];
    for (const name of GROUP_NAMES) {
      const group = await service.createGroup({ name, creator: orgAdmin, idempotencyKey: randomUUID() });
      await service.mapToOrganization({
        groupId: group.id,
        actor: orgAdmin,
        verified: { tenantId: TENANT, objectId: orgAdmin.id, organizationName: 'Contoso' },
        idempotencyKey: randomUUID(),
      });
      groups.push(group);
    }
    // Standings: members already, removed by an admin, left on their own.
    const actor = { user: orgAdmin };
    for (let i = 0; i < 880; i++) {
      const group = groups[i % 3]!;
      const user = { id: people[i]!.id, name: people[i]!.displayName };
      if (i % 50 === 4) await service.addByAdmin(group.id, actor, { user, role: 'member' });
      if (i % 50 === 5) {
        await service.addByAdmin(group.id, actor, { user, role: 'member' });
        await service.removeMember(group.id, actor, user.id);
      }
      if (i % 50 === 6) {
        await service.addByAdmin(group.id, actor, { user, role: 'member' });
        await service.leave(group.id, user);
      }
      if (i % 50 === 2) fake.blocked.add(user.id); // the app permission policy blocks them: 403
      if (i % 50 === 3) fake.installations.set(user.id, `inst-${user.id}`); // installed already: 409
    }
  });
  after(async () => {
    await fake?.close();
  });

  it('plans, adds and reports every row with its reason; a rerun adds and welcomes no one twice; two instances share the job', async () => {
    const file = csv();
    const plan = await requests.check(uploader, { csv: file, addLeavers: false });
    assert.equal(plan.rows.length, 1_000);
    const expectedCounts = {
      add: 0,
      add_admin: 0,
      already_member: 18,
      unknown_user: 40,
      not_in_organization: 18,
      removed_by_admin: 18,
      left_group: 18,
      unknown_group: 0,
      duplicate_row: 20,
      malformed: 30,
    };
    const { add, add_admin, ...rest } = plan.counts;
    assert.deepEqual({ ...rest, add: 0, add_admin: 0 }, expectedCounts);
    assert.equal(add + add_admin, 1_000 - 18 * 4 - 40 - 20 - 30);
    assert.equal(add_admin, 9); // p0, p100, ... p800
    assert.deepEqual(plan.groupsToCreate, ['Warehouse North']);
    // A group admin (not of the organization) gets the same file's groups as unknown: nothing of theirs.
    const asGroupAdmin = await requests.check(
      { user: { id: randomUUID(), name: 'Gus' }, tenantId: TENANT, orgAdmin: false },
      { csv: file, addLeavers: false },
    );
    assert.equal(asGroupAdmin.counts.unknown_group, 1_000 - 30 - 20);
    assert.equal((await service.getGroup(groups[0]!.id)).memberCount, 1 + 6, 'the dry run changed nothing');

    const installedBefore = people.filter((_, i) => i % 50 === 3 && i < 880).map((p) => p.id);
    const started = await requests.start(uploader, { csv: file, addLeavers: false }, 'https://smba.trafficmanager.net/teams/');
    assert.equal(started.total, 1_000);
    // After the confirm, one person leaves the organization (404 at the install); Graph throttles some calls.
    const gone = people.splice(7, 1)[0]!;
    fake.throttleNext = 25;
    const graphBefore = fake.subRequests;

    // Two instances on the one job: A dies in its third chunk (after its installs, before its adds); B cannot
    // take the job while A's lease runs, then goes on from the rows not done.
    await assert.rejects(worker('instance-a', 3).runOnce(), /SIGKILL/);
    const b = worker('instance-b');
    await b.runOnce();
    assert.equal((await jobs.header(started.jobId!))?.status, 'running', "not taken while A's lease runs");
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await b.runOnce();
    const header = await jobs.header(started.jobId!);
    assert.equal(header?.status, 'done');

    const rows = await jobs.rows(started.jobId!);
    assert.equal(rows.length, 1_000);
    const byOutcome = (outcome: string) => rows.filter((r) => r.outcome === outcome);
    const blocked = byOutcome('not_reached').filter((r) => /app permission policy/.test(r.detail ?? ''));
    const notFound = byOutcome('not_reached').filter((r) => /not found in the directory/.test(r.detail ?? ''));
    assert.equal(blocked.length, 18);
    assert.equal(notFound.length, 1);
    assert.equal(notFound[0]!.userId, gone.id);
    assert.equal(byOutcome('added').length, add + add_admin - 18 - 1);
    // Rows the dry run planned no add for: members already are reported as such, the others as not added.
    const alreadyMembers = byOutcome('already_member');
    assert.ok(alreadyMembers.length > 0 && alreadyMembers.every((r) => r.name !== r.address && r.address), 'named, with the address');
    assert.equal(byOutcome('skipped').length + alreadyMembers.length, 1_000 - add - add_admin);
    const reasons = [...byOutcome('skipped'), ...alreadyMembers].map((r) => r.detail);
    for (const reason of [
      /already a member/,
      /unknown user/,
      /not in this organization/,
      /removed by an admin/,
      /left the group/,
      /duplicate of line/,
      /malformed/,
      /role "boss"/,
    ])
      assert.ok(
        reasons.some((r) => reason.test(r ?? '')),
        `a skipped row says ${reason}`,
      );
    // Installed already (409) is fine: they are added.
    assert.ok(installedBefore.every((id) => rows.some((r) => r.userId === id && r.outcome === 'added')));
    // Every Graph call of the job went through the budget (plus each instance's one catalog lookup), 429s too.
    assert.equal(fake.throttleNext, 0, 'Graph answered 429 25 times');
    const jobCalls = fake.subRequests - graphBefore;
    assert.ok(budgetCalls >= jobCalls && budgetCalls <= jobCalls + 2, `${budgetCalls} budgeted, ${jobCalls} made`);

    const warehouse = (await service.listOrgGroups(TENANT)).items.find((g) => g.name === 'Warehouse North')!;
    assert.equal(warehouse.memberCount, 1 + 10, 'created for the organization, its admin and the ten');

    // The report, as the tab downloads it: every row, formula-safe.
    const csvOut = reportCsv(
      rows.map((r) => {
        const { name, ...line } = reportLine(r);
        return { ...line, user: name };
      }),
    );
    assert.equal(csvOut.trim().split('\r\n').length, 1_001);

    // Everyone added once and welcomed once.
    assert.ok([...welcomes.values()].every((n) => n === 1));
    assert.equal(welcomes.size, byOutcome('added').length);
    assert.ok(
      [...fake.installsMade.values()].every((n) => n === 1),
      'installed once each',
    );

    // The same file again: only the people not added (blocked) are tried again; no one is added or welcomed twice.
    const counts = await Promise.all(groups.map(async (g) => (await service.getGroup(g.id)).memberCount));
    const again = await requests.start(uploader, { csv: file, addLeavers: false }, 'https://smba.trafficmanager.net/teams/');
    assert.equal(again.toAdd, 18, 'only the blocked are tried again (the one who left is unknown now)');
    await worker('instance-c').runOnce();
    assert.deepEqual(await Promise.all(groups.map(async (g) => (await service.getGroup(g.id)).memberCount)), counts);
    assert.ok([...welcomes.values()].every((n) => n === 1));
    assert.ok([...fake.installsMade.values()].every((n) => n === 1));
  });
});
