import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GraphInstaller } from '../../src/bulkadd/graphInstaller';
import { BulkJobStore, jobIdOf, type JobRow } from '../../src/bulkadd/jobStore';
import { BulkAddWorker, type Reacher, type Welcomer } from '../../src/bulkadd/jobWorker';
import { GroupService } from '../../src/groups/groupService';
import type { UserRef } from '../../src/groups/model';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import type { TableClients } from '../../src/storage/tables';
import { freshTables } from '../helpers/azurite';
import { FakeGraphDirectory, type DirectoryPerson } from '../helpers/fakeGraphDirectory';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = '99999999-8888-7777-6666-555555555555';
const SECRET = 'not-a-real-secret';

/** Bulk add jobs on Azurite, reaching people through the Graph stand-in: each person added once, welcomed once. */
describe('bulk add: the job', function () {
  this.timeout(60_000);
  let tables: TableClients;
  let fake: FakeGraphDirectory;
  let service: GroupService;
  let store: BulkJobStore;
  const admin: UserRef = { id: randomUUID(), name: 'Ann Admin' };
  const people: DirectoryPerson[] = Array.from({ length: 50 }, (_, i) => ({
    id: randomUUID(),
    displayName: `Person ${i}`,
    userPrincipalName: `person${i}@contoso.example`,
  }));

  before(async () => {
    ({ clients: tables } = await freshTables());
    fake = await FakeGraphDirectory.start({ appId: APP_ID, secret: SECRET, people });
    fake.catalog.set(APP_ID, 'catalog-app');
    fake.blocked.add(people[0]!.id);
    service = new GroupService({ store: new TableGroupStore(tables), appSecret: 'k'.repeat(48), publicUrl: 'http://127.0.0.1:3978' });
    store = new BulkJobStore(tables.bulkjobs);
  });
  after(async () => {
    await fake?.close();
  });

  const graphReacher = (): Reacher =>
    new GraphInstaller({
      client: fake.client(TENANT),
      manifestAppId: APP_ID,
    });

  /** Welcomes as the engine's one-off sends do: once per key, however often asked. */
  class KeyedWelcomes implements Welcomer {
    readonly asked: string[] = [];
    readonly sent = new Set<string>();
    async welcome(_job: unknown, row: JobRow): Promise<void> {
      const key = `bulk|${row.groupId}|${row.userId}`;
      this.asked.push(key);
      this.sent.add(key);
    }
  }

  async function newJob(groupId: string, who: DirectoryPerson[], admins: ReadonlySet<string> = new Set()): Promise<string> {
    const rows = who.map((p, i) => ({
      line: i + 2,
      groupId,
      groupName: 'Depot',
      userId: p.id,
      name: p.displayName,
      role: admins.has(p.id) ? ('admin' as const) : ('member' as const),
    }));
    const jobId = jobIdOf(admin.id, rows);
    await store.create(
      {
        jobId,
        tenantId: TENANT,
        createdById: admin.id,
        createdByName: admin.name,
        createdAt: new Date().toISOString(),
        serviceUrl: 'https://smba.trafficmanager.net/amer/',
        orgAdmin: false,
      },
      rows,
    );
    return jobId;
  }

  const worker = (holder: string, welcomes: Welcomer, reacher: () => Reacher = graphReacher, leaseMs = 60_000) =>
    new BulkAddWorker({
      store,
      groups: service,
      reacherFor: reacher,
      welcomer: welcomes,
      holder,
      botId: `28:${APP_ID}`,
      leaseMs,
      chunk: 10,
    });

  it('adds and welcomes everyone it reaches, says why for everyone it does not, and a second confirm of the same plan adds no one', async () => {
    const group = await service.createGroup({ name: 'Depot', creator: admin, idempotencyKey: randomUUID() });
    const who = people.slice(0, 25);
    const jobId = await newJob(group.id, who);
    const welcomes = new KeyedWelcomes();
    await worker('instance-a', welcomes).runOnce();
    const rows = await store.rows(jobId);
    assert.deepEqual(rows.filter((r) => r.outcome === 'added').length, 24);
    const blocked = rows.find((r) => r.userId === people[0]!.id)!;
    assert.equal(blocked.outcome, 'not_reached');
    assert.match(blocked.detail!, /app permission policy/);
    assert.equal((await service.getGroup(group.id)).memberCount, 25);
    assert.equal(welcomes.sent.size, 24);
    assert.equal((await store.header(jobId))?.status, 'done');
    assert.deepEqual(await store.openJobs(), []);
    // The same plan again: the same job, nothing new.
    const again = await newJob(group.id, who);
    assert.equal(again, jobId);
    await worker('instance-b', welcomes).runOnce();
    assert.equal(welcomes.asked.length, 24);
    const member = await new TableGroupStore(tables).getMember(group.id, people[5]!.id);
    assert.equal(JSON.parse(member!.conversationRef!).conversation.id, `19:${people[5]!.id}_bot@unq.gbl.spaces`);
  });

  it('goes on from where a dead instance stopped once its lease runs out: each person added once and welcomed once', async () => {
    const group = await service.createGroup({ name: 'Depot', creator: admin, idempotencyKey: randomUUID() });
    const who = people.slice(25, 50);
    const jobId = await newJob(group.id, who);
    const welcomes = new KeyedWelcomes();
    // Instance A dies in its second chunk, after the rows were marked and before anything of it was written.
    let calls = 0;
    const dying = (): Reacher => ({
      reach: async (ids) => {
        if (++calls === 2) throw new Error('SIGKILL');
        return graphReacher().reach(ids);
      },
    });
    await assert.rejects(worker('instance-a', welcomes, dying, 1_500).runOnce(), /SIGKILL/);
    // Instance B: the lease is A's until it runs out.
    await worker('instance-b', welcomes, graphReacher, 1_500).runOnce();
    assert.equal((await store.header(jobId))?.status, 'running', 'not taken while A holds the lease');
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await worker('instance-b', welcomes, graphReacher, 1_500).runOnce();
    const rows = await store.rows(jobId);
    assert.equal(rows.filter((r) => r.outcome === 'added').length, 25);
    assert.equal((await service.getGroup(group.id)).memberCount, 26);
    assert.equal(welcomes.sent.size, 25);
    assert.ok(
      who.every((p) => fake.installsMade.get(p.id) === 1),
      'installed once each',
    );
  });

  it('adds a chunk whole: members already there are reported so, a removed person is not added, an admin row makes an admin', async () => {
    const group = await service.createGroup({ name: 'Depot', creator: admin, idempotencyKey: randomUUID() });
    const [already, removed, boss, ...fresh] = people.slice(1, 8) as [
      DirectoryPerson,
      DirectoryPerson,
      DirectoryPerson,
      ...DirectoryPerson[],
    ];
    const asUser = (p: DirectoryPerson) => ({ id: p.id, name: p.displayName });
    await service.addByAdmin(group.id, { user: admin }, { user: asUser(already), role: 'member' });
    await service.addByAdmin(group.id, { user: admin }, { user: asUser(removed), role: 'member' });
    await service.removeMember(group.id, { user: admin }, removed.id);
    const jobId = await newJob(group.id, [already, removed, boss, ...fresh], new Set([boss.id]));
    const welcomes = new KeyedWelcomes();
    await worker('instance-a', welcomes).runOnce();
    const outcomes = new Map((await store.rows(jobId)).map((r) => [r.userId, r.outcome]));
    assert.equal(outcomes.get(already.id), 'already_member');
    assert.equal(outcomes.get(removed.id), 'removed');
    assert.equal(outcomes.get(boss.id), 'added');
    assert.ok(fresh.every((p) => outcomes.get(p.id) === 'added'));
    const members = new TableGroupStore(tables);
    assert.equal((await members.getMember(group.id, boss.id))?.role, 'admin');
    assert.equal(await members.getMember(group.id, removed.id), undefined);
    assert.equal((await service.getGroup(group.id)).memberCount, 2 + 1 + fresh.length);
    assert.deepEqual([...welcomes.sent].sort(), [boss, ...fresh].map((p) => `bulk|${group.id}|${p.id}`).sort(), 'only those added');
    assert.ok(
      (await service.listMyGroups(boss.id)).items.some((g) => g.group.id === group.id),
      'in their "my groups"',
    );
  });

  it('a chunk cut short after its adds (before its rows were recorded) is done again: each counted as added, welcomed once', async () => {
    const group = await service.createGroup({ name: 'Depot', creator: admin, idempotencyKey: randomUUID() });
    const who = people.slice(8, 20);
    const jobId = await newJob(group.id, who);
    const welcomes = new KeyedWelcomes();
    // Instance A dies at its first welcome: the chunk's people are in the group, its rows still say 'adding'.
    let dead = false;
    const dying: Welcomer = {
      welcome: async () => {
        dead = true;
        throw new Error('SIGKILL');
      },
    };
    await assert.rejects(worker('instance-a', dying, graphReacher, 1_500).runOnce(), /SIGKILL/);
    assert.ok(dead);
    assert.ok((await service.getGroup(group.id)).memberCount >= 1 + 10, 'the first chunk of ten was written');
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await worker('instance-b', welcomes, graphReacher, 1_500).runOnce();
    const rows = await store.rows(jobId);
    assert.deepEqual(
      rows.map((r) => r.outcome),
      who.map(() => 'added'),
    );
    assert.equal((await service.getGroup(group.id)).memberCount, 1 + who.length);
    assert.equal(welcomes.asked.length, who.length, 'each asked once by B');
    assert.equal(welcomes.sent.size, who.length);
  });
});
