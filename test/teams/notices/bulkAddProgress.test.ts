import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BulkJobStore, type JobHeader } from '../../../src/bulkadd/jobStore';
import type { Recipient } from '../../../src/delivery/ports';
import { BulkAddNotices, type CardChannel } from '../../../src/teams/notices/bulkAddNotices';
import { validateCard } from '../../../cards/validate';
import { freshTables } from '../../helpers/azurite';

/**
 * The progress card of a bulk add in the admin's chat (issue 18): one card, sent at the first progress and then
 * updated in place, at most every 5 s (a virtual clock), by whichever instance works the job; the report follows.
 */
describe('bulk add: the progress card in chat', function () {
  this.timeout(30_000);
  let jobs: BulkJobStore;
  const ref = { channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/teams/', conversation: { id: 'a:admin-chat' } };

  before(async () => {
    jobs = new BulkJobStore((await freshTables()).clients.bulkjobs);
  });

  class RecordingChannel implements CardChannel {
    readonly calls: Array<{ op: 'send' | 'update'; id?: string; text: string }> = [];
    async send(_ref: unknown, activity: Record<string, unknown>) {
      this.calls.push({ op: 'send', text: cardText(activity) });
      return { id: `act-${this.calls.length}` };
    }
    async update(_ref: unknown, id: string, activity: Record<string, unknown>) {
      this.calls.push({ op: 'update', id, text: cardText(activity) });
    }
  }

  function cardText(activity: Record<string, unknown>): string {
    const card = (activity['attachments'] as Array<{ content: unknown }>)[0]!.content;
    assert.deepEqual(validateCard(card), []);
    return JSON.stringify(card);
  }

  async function newJob(): Promise<JobHeader> {
    const header = {
      jobId: randomUUID().replace(/-/g, ''),
      tenantId: 't1',
      createdById: 'admin',
      createdByName: 'Ann',
      createdAt: new Date().toISOString(),
      serviceUrl: ref.serviceUrl,
      orgAdmin: false,
      reportTo: JSON.stringify(ref),
      groups: JSON.stringify(['Depot <b>East</b>']),
    };
    const rows = Array.from({ length: 300 }, (_, i) => ({
      line: i + 1,
      groupId: 'g',
      groupName: 'Depot',
      userId: `u${i}`,
      name: `P${i}`,
      role: 'member' as const,
    }));
    await jobs.create(header, rows);
    return (await jobs.header(header.jobId))!;
  }

  it('sends one card, updates it at most every 5 s, and marks it done before the report', async () => {
    let now = 1_000_000;
    const channel = new RecordingChannel();
    const oneOffs: Array<{ key: string; recipient: Recipient }> = [];
    const engine = { sendOneOff: async (key: string, recipient: Recipient) => void oneOffs.push({ key, recipient }) };
    const notices = new BulkAddNotices(engine, { channel, jobs, now: () => now });
    const job = await newJob();

    await notices.progress(job, 100);
    now += 1_000;
    await notices.progress(job, 200); // too soon: not told
    now += 4_500;
    await notices.progress(job, 250);
    assert.deepEqual(
      channel.calls.map((c) => [c.op, c.id]),
      [
        ['send', undefined],
        ['update', 'act-1'],
      ],
    );
    assert.match(channel.calls[1]!.text, /250 of 300 rows done/);
    assert.match(channel.calls[1]!.text, /Depot <b>East<\/b>/, 'the name as text');
    assert.equal((await jobs.header(job.jobId))?.progressCardId, 'act-1');

    // Another instance takes the job over: it updates the same card.
    now += 10_000;
    const other = new BulkAddNotices(engine, { channel, jobs, now: () => now });
    await other.progress(job, 280);
    await other.finished(job, []);
    assert.deepEqual(
      channel.calls.slice(2).map((c) => [c.op, c.id]),
      [
        ['update', 'act-1'],
        ['update', 'act-1'],
      ],
    );
    assert.match(channel.calls[3]!.text, /Done: adding people to/);
    assert.equal(oneOffs.length, 1, 'the report, once');
    assert.equal(channel.calls.filter((c) => c.op === 'send').length, 1, 'one card in the chat');
  });
});
