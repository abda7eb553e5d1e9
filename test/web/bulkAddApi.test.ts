import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { BulkJobStore } from '../../src/bulkadd/jobStore';
import { BulkAddWorker } from '../../src/bulkadd/jobWorker';
import { SampleDirectory } from '../../src/bulkadd/sampleDirectory';
import { UploadRequests } from '../../src/bulkadd/uploadRequests';
import { startWebHarness, type TestUser, type WebHarness } from './webHarness';

/**
 * The tab's bulk add API over HTTP (src/web/bulkAddApi.ts), on Azurite with the sample directory: an
 * organization admin's CSV creating a group for the organization, a stranger kept from someone else's job, and
 * bad input answered with a plain line and nothing changed.
 */
describe('bulk add API (/api/bulkadd)', function () {
  this.timeout(60_000);
  let h: WebHarness;
  let worker: BulkAddWorker;
  let olga: TestUser;
  let gus: TestUser;
  const orgAdmins = new Set<string>();

  before(async () => {
    h = await startWebHarness({
      api: ({ groups, tables }) => {
        const jobs = new BulkJobStore(tables.bulkjobs);
        worker = new BulkAddWorker({
          store: jobs,
          groups,
          reacherFor: () => ({ reach: async (ids) => new Map(ids.map((id) => [id, { chatId: `a:${id}` }])) }),
          welcomer: { welcome: async () => undefined },
          holder: 'api-test',
          botId: '28:bot',
        });
        const requests = new UploadRequests({ groups, directoryFor: (t) => new SampleDirectory(t), jobs, kick: () => undefined });
        return {
          bulkAdd: { requests, isOrgAdmin: (v) => orgAdmins.has(v.objectId), serviceUrl: 'https://smba.trafficmanager.net/teams/' },
        };
      },
    });
    olga = h.newUser('Olga Orgadmin');
    gus = h.newUser('Gus Groupadmin', olga.tid);
    orgAdmins.add(olga.id);
  });
  after(async () => {
    await worker?.stop();
    await h?.stop();
  });

  async function call(user: TestUser, method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${await h.tokenFor(user)}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const CSV = 'group,user,role\nNight Shift,meganb@example.com,admin\nNight Shift,adelev@example.com,\nNight Shift,=cmd|calc,member\n';

  it("an organization admin's CSV naming a group that does not exist creates it for the organization and adds the people", async () => {
    const check = await call(olga, 'POST', '/api/bulkadd/check', { csvGzip: gzipSync(CSV).toString('base64') });
    assert.equal(check.status, 200);
    assert.deepEqual(check.body['groupsToCreate'], ['Night Shift']);
    const rows = check.body['rows'] as Array<{ reason: string }>;
    assert.deepEqual(
      rows.map((r) => r.reason),
      [
        'will add as admin (creates the group)',
        'will add (creates the group)',
        'malformed: not an email address, a user principal name, an object id or a mobile number',
      ],
    );
    assert.equal((await h.groups.listOrgGroups(olga.tid)).items.length, 0, 'the dry run created nothing');

    // Gus, not an organization admin: the same file names a group he cannot add to, and creates nothing.
    const asGus = await call(gus, 'POST', '/api/bulkadd/check', { csv: CSV });
    assert.deepEqual(
      (asGus.body['rows'] as Array<{ outcome: string }>).map((r) => r.outcome),
      ['unknown_group', 'unknown_group', 'malformed'],
    );

    const started = await call(olga, 'POST', '/api/bulkadd/jobs', { csv: CSV });
    assert.equal(started.status, 202);
    const jobId = String(started.body['jobId']);
    const [created] = (await h.groups.listOrgGroups(olga.tid)).items;
    assert.equal(created?.name, 'Night Shift');
    assert.equal(created?.status, 'organization');

    const running = await call(olga, 'GET', `/api/bulkadd/jobs/${jobId}`);
    assert.deepEqual([running.body['status'], running.body['total']], ['running', 3]);
    // Someone else's job reads as no job at all.
    const stranger = await call(gus, 'GET', `/api/bulkadd/jobs/${jobId}`);
    assert.equal(stranger.status, 404);
    assert.equal(stranger.body['rows'], undefined);

    await worker.runOnce();
    const done = await call(olga, 'GET', `/api/bulkadd/jobs/${jobId}`);
    assert.equal(done.body['status'], 'done');
    assert.equal((await h.groups.getGroup(created!.id)).memberCount, 3);
    const csv = String(done.body['csv']);
    assert.match(csv, /^line,group,user,address,outcome,reason\r\n"2","Night Shift","Megan Bowen","meganb@example.com","added",""\r\n/);
    assert.match(csv, /"4","Night Shift","'=cmd\|calc","","not added","malformed: /);
    // The table the tab draws lists the problem first; the CSV keeps the file's order.
    assert.deepEqual((done.body['rows'] as Array<{ line: number; outcome: string }>).map((r) => [r.line, r.outcome])[0], [4, 'not added']);
  });

  it('bad input: a plain line, nothing changed', async () => {
    for (const [body, pattern] of [
      [{}, /Paste some addresses, or choose a CSV file/],
      [{ csv: 'name,email\nx,y\n' }, /group,user,role/],
      [{ csvGzip: 'bm90IGd6aXA=' }, /could not be read/],
      [{ groupId: 'nope', text: 'ann@example.com' }, /does not exist|not a member/],
    ] as const) {
      const res = await call(gus, 'POST', '/api/bulkadd/check', body);
      assert.ok(res.status >= 400 && res.status < 500, `${res.status}`);
      assert.match(String(res.body['error']), pattern);
    }
    assert.equal((await call(gus, 'GET', '/api/bulkadd/jobs/not-a-job')).status, 400);
  });
});
