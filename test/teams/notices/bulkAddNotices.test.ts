import assert from 'node:assert/strict';
import type { JobHeader, JobRow } from '../../../src/bulkadd/jobStore';
import type { Recipient } from '../../../src/delivery/ports';
import { BulkAddNotices, REPORT_ROWS_SHOWN, reportText, welcomeText } from '../../../src/teams/notices/bulkAddNotices';

/** Bulk add's welcome and the admin's report: one keyed one-off send each, user text never Markdown. */
describe('bulk add notices', () => {
  const ref = (user: string) =>
    JSON.stringify({ serviceUrl: 'https://smba.example/', conversation: { id: `a:${user}`, tenantId: 'T1' }, user: { id: user } });
  const job: JobHeader = {
    jobId: 'job1',
    tenantId: 't1',
    createdById: 'admin',
    createdByName: '**Ann** [x](https://evil.example)',
    createdAt: '2026-12-07T00:00:00Z',
    total: 2,
    serviceUrl: 'https://smba.example/',
    orgAdmin: false,
    status: 'running',
    reportTo: ref('admin'),
  };
  const row = (line: number, fields: Partial<JobRow> = {}): JobRow => ({
    line,
    groupId: 'g1',
    groupName: 'Depot <b>',
    userId: `u${line}`,
    name: `Person ${line}`,
    role: 'member',
    state: 'done',
    outcome: 'added',
    ...fields,
  });

  function recording() {
    const sent: Array<{ key: string; recipient: Recipient; activity: Record<string, unknown> }> = [];
    return {
      sent,
      engine: {
        sendOneOff: async (key: string, recipient: Recipient, activity: Record<string, unknown>) =>
          void sent.push({ key, recipient, activity }),
      },
    };
  }

  it('welcomes each person once per group and person (the key), in their new chat, names never Markdown', async () => {
    const { sent, engine } = recording();
    await new BulkAddNotices(engine).welcome(job, row(3), ref('u3'));
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.key, 'bulk|g1|u3');
    assert.equal(sent[0]!.recipient.tenantId, 't1');
    const text = String(sent[0]!.activity.text);
    assert.equal(text, welcomeText(job.createdByName, 'Depot <b>'));
    assert.match(text, /added you to \*\*.*\*\*\. What you type here goes to the group\. Type \*\*leave\*\* to leave\.$/);
    for (const fragment of ['**Ann**', '](', '<b>', 'evil.example']) assert.ok(!text.includes(fragment), fragment);
  });

  it("reports to the admin's chat under the job's key: counts, then each row's outcome and reason, the first 30 and how many more", async () => {
    const { sent, engine } = recording();
    const rows = [
      row(1, { outcome: 'not_reached', detail: 'Teams would not open a chat with them' }),
      ...Array.from({ length: 34 }, (_, i) => row(i + 2)),
    ];
    await new BulkAddNotices(engine).finished(job, rows);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.key, 'bulkreport|job1');
    assert.equal(sent[0]!.recipient.userId, 'admin');
    const text = String(sent[0]!.activity.text);
    assert.equal(text, reportText(rows));
    assert.match(text, /\n\nadded: 34 · not reached: 1\n\n/);
    assert.match(text, /Person 1: not reached — Teams would not open a chat with them/);
    assert.ok(text.includes(`Person ${REPORT_ROWS_SHOWN}: added`) && !text.includes(`Person ${REPORT_ROWS_SHOWN + 1}: added`));
    assert.match(text, /and 5 more$/);
    assert.ok(!text.includes('<b>'));
  });

  it('reports counts in order (added, members already, problems), names people with their address, no nested parentheses', () => {
    const text = reportText([
      row(1, {
        outcome: 'not_reached',
        address: 'ann@contoso.com',
        name: 'Ann Lee',
        detail: "blocked by the organization's app permission policy (403 Forbidden)",
      }),
      row(2, {
        outcome: 'skipped',
        name: 'bob@contoso.com',
        address: 'bob@contoso.com',
        detail: 'unknown user: not found in the directory',
      }),
      row(3, { outcome: 'already_member', name: 'Carol Diaz', address: 'carol@contoso.com', detail: 'already a member' }),
      row(4, { outcome: 'added', name: 'Dan Wu', address: 'dan@contoso.com' }),
      row(5, { outcome: 'removed', name: 'Eve', address: 'eve@contoso.com' }),
      row(6, { state: 'adding', outcome: undefined }),
    ]);
    const [, counts, ...lines] = text.split('\n\n');
    assert.equal(counts, 'added: 1 · already members: 1 · removed by an admin: 1 · not reached: 1 · not added: 1 · not done: 1');
    // The rows: what needs the admin first (not done, not added, not reached, removed), then what went well.
    assert.match(lines[0]!, /: not done$/);
    assert.match(
      lines[1]!,
      /^bob@contoso.*: not added — unknown user: not found in the directory$/,
      'the address once, when it is all we know',
    );
    assert.match(lines[2]!, /^Ann Lee · ann@contoso.*: not reached — blocked by .* \(403 Forbidden\)$/);
    assert.match(lines[3]!, /^Eve · eve@contoso.*: removed by an admin/);
    assert.match(lines[4]!, /^Carol Diaz · carol@contoso.*: already a member$/, 'the reason is not repeated');
    assert.match(lines[5]!, /^Dan Wu · dan@contoso.*: added$/);
    for (const line of lines) assert.ok(!/\([^)]*\(/.test(line), `no nested parentheses: ${line}`);
  });

  it("shows guests' and odd names as plain words: no Markdown, links, mentions or HTML from a name, address or reason", () => {
    const text = reportText([
      row(1, {
        name: '**Boss** [pay](https://evil.example) <at>all</at> _x_',
        address: 'ann_lee_fabrikam.com#EXT#@contoso.onmicrosoft.com',
        outcome: 'skipped',
        detail: 'not in this organization (a guest account, or a user of another organization) `code` ~~x~~',
      }),
    ]);
    const line = text.split('\n\n')[2]!;
    for (const fragment of ['**', '](', 'https://', '<at>', '_x_', '`', '~~', '#EXT#@contoso.onmicrosoft.com'])
      assert.ok(!line.includes(fragment), `${fragment} in ${line}`);
    assert.match(line, /Boss.*pay.*not added — not in this organization/);
  });

  it('lists the problems of a long list first, so the rows shown hold the people who were not added', () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => row(i + 2));
    rows[700] = row(702, { outcome: 'not_reached', name: 'Late Problem', detail: 'user not found' });
    rows[998] = row(1_000, { outcome: 'skipped', name: 'Last Row', detail: 'malformed' });
    const lines = reportText(rows).split('\n\n').slice(2);
    assert.match(lines[0]!, /^Last Row: not added — malformed$/);
    assert.match(lines[1]!, /^Late Problem: not reached — user not found$/);
    assert.match(lines[2]!, /^Person 2: added$/, 'then the others in line order');
    assert.equal(lines.at(-1), 'and 970 more');
  });

  it('sends no report when the job was started outside a personal chat', async () => {
    const { sent, engine } = recording();
    const { reportTo: _ignored, ...withoutChat } = job;
    await new BulkAddNotices(engine).finished(withoutChat, [row(1)]);
    assert.equal(sent.length, 0);
  });
});
