import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { BulkJobStore, type JobRow } from '../../src/bulkadd/jobStore';
import { BulkAddWorker, type Reacher, type Welcomer } from '../../src/bulkadd/jobWorker';
import { SampleDirectory } from '../../src/bulkadd/sampleDirectory';
import { UploadRequests } from '../../src/bulkadd/uploadRequests';
import type { Group } from '../../src/groups/model';
import { EXAMPLE_CSV_PATH } from '../../src/web/bulkAddApi';
import { startWebHarness, type TestUser, type WebHarness } from '../web/webHarness';
import { CHROMIUM_MISSING, DESKTOP, chromiumAvailable, launchChromium, offlineContext } from './chromium';
import { openTab } from './tabPage';

/**
 * "Add people" in the Teams tab (issue 18), in headless Chromium against the real server, the real bulk add API,
 * job store and worker on Azurite, and the built-in sample directory (the example CSV names its people). Each
 * person's chat is a stand-in reach (the job's Graph side has its own tests); welcomes are recorded once per key.
 */
describe('Teams tab: add people in bulk in a browser', function () {
  this.timeout(120_000);
  let browser: Browser;
  let h: WebHarness;
  let ann: TestUser;
  let depot: Group;
  let worker: BulkAddWorker;
  const welcomed = new Map<string, number>();

  const reacher: Reacher = {
    reach: async (ids) => new Map(ids.map((id) => [id, { chatId: `a:chat-${id}` }])),
  };
  const welcomer: Welcomer = {
    async welcome(_job, row: JobRow) {
      const key = `${row.groupId}|${row.userId}`;
      welcomed.set(key, (welcomed.get(key) ?? 0) + 1);
    },
  };

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    [browser, h] = await Promise.all([
      launchChromium(),
      startWebHarness({
        allowTestHooks: true,
        api: ({ groups, tables }) => {
          const jobs = new BulkJobStore(tables.bulkjobs);
          worker = new BulkAddWorker({
            store: jobs,
            groups,
            reacherFor: () => reacher,
            welcomer,
            holder: 'tab-test',
            botId: '28:bot',
            chunk: 5,
          });
          const requests = new UploadRequests({
            groups,
            directoryFor: (tenantId) => new SampleDirectory(tenantId),
            jobs,
            kick: () => void worker.runOnce(),
          });
          return { bulkAdd: { requests, isOrgAdmin: () => false, serviceUrl: 'https://smba.trafficmanager.net/teams/' } };
        },
      }),
    ]);
    ann = h.newUser('Ann Admin');
    depot = await h.createGroup(ann, 'Depot East');
    await h.groups.mapToOrganization({
      groupId: depot.id,
      actor: ann,
      verified: { tenantId: ann.tid, objectId: ann.id, organizationName: 'Contoso' },
      idempotencyKey: 'tab-bulk-test',
    });
  });
  after(async () => {
    await worker?.stop();
    await browser?.close();
    await h?.stop();
  });

  it('offers the example CSV, checks it row by row, adds the people it can and reports every row, downloadable', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP, acceptDownloads: true });
    try {
      const { page, problems } = await openTab(h, context, ann, { refuseDialogs: true });
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Depot East/ })
        .click();
      await page.getByRole('heading', { name: 'Add people' }).waitFor();

      // The example file, as the repository has it.
      const [example] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download the example CSV' }).click(),
      ]);
      assert.equal(await readFile((await example.path())!, 'utf8'), await readFile(EXAMPLE_CSV_PATH, 'utf8'));

      // The dry run of that file: Ann runs Depot East only, so Field Sales North's rows name a group she cannot add to.
      await page.locator('#bulk-file').setInputFiles(EXAMPLE_CSV_PATH);
      await page.getByRole('button', { name: 'Check the list' }).click();
      await page.locator('#bulk-plan').waitFor();
      const planRows = await page.locator('#bulk-plan tbody tr').allInnerTexts();
      assert.equal(planRows.length, 20);
      const reasonOf = (address: string) => planRows.find((r) => r.includes(address)) ?? '';
      assert.match(reasonOf('meganb@example.com'), /no group of that name/);
      assert.match(reasonOf('leeg@example.com'), /will add as admin/);
      assert.match(reasonOf('+91 98555 00115'), /Pradeep Gupta[\s\S]*will add/);
      assert.match(reasonOf('kai_partner'), /not in this organization/);
      assert.match(reasonOf('someone.new@example.com'), /unknown user/);
      assert.match(await page.locator('#bulk-counts').innerText(), /will add: 7 · will add as admin: 1/);
      assert.equal((await h.groups.getGroup(depot.id)).memberCount, 1, 'the dry run changed nothing');

      await page.getByRole('button', { name: 'Add 8 people' }).click();
      await page.locator('#bulk-done').waitFor({ timeout: 60_000 });
      assert.equal(await page.locator('#bulk-done').innerText(), 'Done: 8 added of 20 rows');
      const report = await page.locator('#bulk-report tbody tr').allInnerTexts();
      assert.equal(report.length, 20, 'every row of the file is in the report');
      assert.match(
        report.find((r) => r.includes('someone.new@example.com'))!,
        /not added\s+unknown user/,
      );
      assert.match(
        report.find((r) => r.includes('Lee Gu'))!,
        /added/,
      );
      assert.equal((await h.groups.getGroup(depot.id)).memberCount, 9);
      assert.equal(welcomed.size, 8);
      assert.ok(
        [...welcomed.values()].every((n) => n === 1),
        'each welcomed once',
      );

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download the report (CSV)' }).click(),
      ]);
      const csv = await readFile((await download.path())!, 'utf8');
      assert.equal(csv.split('\r\n')[0], 'line,group,user,address,outcome,reason');
      assert.match(csv, /"21","Depot East","someone.new@example.com","","not added","unknown user: not found in the directory"/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a pasted list: a formula stays text in the report, people who left are added only when ticked, and a rerun adds no one twice', async () => {
    const context = await offlineContext(browser, { viewport: DESKTOP, acceptDownloads: true });
    try {
      // Alex joined Depot East and left on his own.
      const alex = { id: '00000000-0000-0000-0000-0000000000020', name: 'Alex Wilber' };
      await h.joinGroup(depot, ann, alex);
      await h.groups.leave(depot.id, alex);
      const { page, problems } = await openTab(h, context, ann, { refuseDialogs: true });
      await page
        .locator('#group-list')
        .getByRole('button', { name: /Depot East/ })
        .click();
      await page
        .getByLabel('Addresses (one a line, or separated by commas)')
        .fill('=HYPERLINK("http://evil")\nalexw@example.com, meganb@example.com\nleeg@example.com');
      await page.getByRole('button', { name: 'Check the list' }).click();
      await page.locator('#bulk-plan').waitFor();
      assert.match(await page.locator('#bulk-plan tbody').innerText(), /left the group/);
      assert.match(await page.locator('#bulk-plan tbody').innerText(), /already a member/);

      await page.getByLabel('Add people who left').check();
      await page.getByRole('button', { name: 'Check the list' }).click();
      await page.getByRole('button', { name: 'Add 2 people' }).click();
      await page.locator('#bulk-done').waitFor({ timeout: 60_000 });
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download the report (CSV)' }).click(),
      ]);
      const csv = await readFile((await download.path())!, 'utf8');
      assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/, 'a formula is quoted and defused');
      assert.equal((await h.groups.getGroup(depot.id)).memberCount, 11);

      // The same list again: everyone is a member now; nobody is added twice.
      await page.getByRole('button', { name: 'Check the list' }).click();
      await page.locator('#bulk-plan').waitFor();
      assert.equal(await page.getByRole('button', { name: /^Add \d+ (people|person)$/ }).count(), 0);
      assert.match(await page.locator('#bulk-result').innerText(), /Nobody on the list can be added now/);
      assert.ok(
        [...welcomed.values()].every((n) => n === 1),
        'each welcomed once',
      );
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
