import { ApiError, type ApiClient } from './apiClient';
import { button, el } from './dom';

/**
 * "Add people" on a group the viewer runs (issue 18): paste addresses or choose a `group,user,role` CSV, see the
 * dry run row by row, tick "add people who left", then Add N people; the job's progress (polled every few
 * seconds) and its report with every row's outcome and reason, downloadable as CSV. Browser code.
 */

/** How often the progress is asked for (the issue: at most every few seconds). */
export const POLL_MS = 2_000;
/** Rows drawn in a table; the rest are in the counts and the downloaded report. */
const ROWS_SHOWN = 200;
/** The example file, next to the tab's script (<base>/tab/tab.js). Read while the script runs. */
const EXAMPLE_URL = new URL('bulkadd-example.csv', (document.currentScript as HTMLScriptElement | null)?.src ?? window.location.href).href;

interface PlanRow {
  line: number;
  raw: string;
  group: string;
  outcome: string;
  reason: string;
  name?: string;
}
interface PlanView {
  toAdd: number;
  counts: Record<string, number>;
  groupsToCreate: string[];
  rows: PlanRow[];
}
interface ReportRow {
  line: number;
  group: string;
  user: string;
  address: string;
  outcome: string;
  reason: string;
}
interface JobView {
  jobId: string;
  status: 'running' | 'done';
  total: number;
  done: number;
  rows?: ReportRow[];
  csv?: string;
}

const COUNT_WORDS: Record<string, string> = {
  add: 'will add',
  add_admin: 'will add as admin',
  already_member: 'already members',
  left_group: 'left the group',
  removed_by_admin: 'removed by an admin',
  not_in_organization: 'not in this organization',
  unknown_user: 'unknown users',
  unknown_group: 'unknown groups',
  duplicate_row: 'duplicate rows',
  malformed: 'malformed rows',
};

export class BulkAddPanel {
  private timer: number | undefined;
  private readonly result = el('div', { id: 'bulk-result', 'aria-live': 'polite' });

  constructor(
    private readonly api: ApiClient,
    private readonly showError: (err: unknown) => void,
  ) {}

  /** Stops polling (another group was opened). */
  close(): void {
    if (this.timer !== undefined) window.clearTimeout(this.timer);
    this.timer = undefined;
  }

  section(group: { id: string; name: string }): HTMLElement {
    this.close();
    this.result.replaceChildren();
    const addresses = el('textarea', { id: 'bulk-addresses', rows: '5', placeholder: 'ann@contoso.com\nbob@contoso.com' });
    const file = el('input', { id: 'bulk-file', type: 'file', accept: '.csv,text/csv' });
    const leavers = el('input', { id: 'bulk-leavers', type: 'checkbox' });
    const check = button('Check the list', () => void this.check(group.id, addresses, file, leavers, check), { class: 'primary' });
    return el(
      'section',
      { class: 'card', 'aria-labelledby': 'bulk-heading' },
      el('h3', { id: 'bulk-heading' }, 'Add people'),
      el(
        'p',
        { class: 'help' },
        `Paste work email addresses for ${group.name}, or choose a CSV file with the columns group,user,role (one file may name several groups). You see what would happen before anyone is added. `,
        el('a', { href: EXAMPLE_URL, download: 'add-people-example.csv', class: 'download' }, 'Download the example CSV'),
      ),
      el('label', { for: 'bulk-addresses' }, 'Addresses (one a line, or separated by commas)'),
      addresses,
      el('label', { for: 'bulk-file' }, 'Or a CSV file'),
      file,
      el('p', {}, el('label', {}, leavers, ' Add people who left')),
      el('div', { class: 'row' }, check),
      this.result,
    );
  }

  private async requestBody(groupId: string, addresses: HTMLTextAreaElement, file: HTMLInputElement, leavers: HTMLInputElement) {
    const chosen = file.files?.[0];
    if (chosen) return { csvGzip: await gzipBase64(await chosen.text()), addLeavers: leavers.checked };
    return { groupId, text: addresses.value, addLeavers: leavers.checked };
  }

  private async check(
    groupId: string,
    addresses: HTMLTextAreaElement,
    file: HTMLInputElement,
    leavers: HTMLInputElement,
    check: HTMLButtonElement,
  ): Promise<void> {
    this.close();
    check.disabled = true;
    try {
      const body = await this.requestBody(groupId, addresses, file, leavers);
      const plan = await this.api.call<PlanView>('POST', 'api/bulkadd/check', { body });
      this.showPlan(plan, body);
    } catch (err) {
      this.result.replaceChildren(el('p', { class: 'error', role: 'alert' }, messageOf(err)));
      this.showError(err);
    } finally {
      check.disabled = false;
    }
  }

  private showPlan(plan: PlanView, body: Record<string, unknown>): void {
    const counts = Object.entries(plan.counts)
      .filter(([, n]) => n > 0)
      .map(([outcome, n]) => `${COUNT_WORDS[outcome] ?? outcome}: ${n}`)
      .join(' · ');
    const parts: HTMLElement[] = [
      el('h4', {}, 'What would happen'),
      el('p', { id: 'bulk-counts' }, counts),
      plan.groupsToCreate.length > 0
        ? el('p', {}, `Groups to create for your organization: ${plan.groupsToCreate.join(', ')}`)
        : el('span'),
      table(
        'bulk-plan',
        ['Line', 'Address', 'Group', 'What happens'],
        plan.rows.slice(0, ROWS_SHOWN).map((r) => [String(r.line), r.name ? `${r.raw} (${r.name})` : r.raw, r.group, r.reason]),
      ),
    ];
    if (plan.rows.length > ROWS_SHOWN) parts.push(el('p', { class: 'help' }, `and ${plan.rows.length - ROWS_SHOWN} more rows`));
    if (plan.toAdd > 0) {
      const add = button(`Add ${plan.toAdd === 1 ? '1 person' : `${plan.toAdd} people`}`, () => void this.start(body, add), {
        class: 'primary',
      });
      parts.push(el('div', { class: 'row' }, add));
    } else {
      parts.push(el('p', {}, 'Nobody on the list can be added now.'));
    }
    this.result.replaceChildren(...parts);
  }

  private async start(body: Record<string, unknown>, add: HTMLButtonElement): Promise<void> {
    add.disabled = true;
    try {
      const started = await this.api.call<{ jobId?: string; toAdd: number }>('POST', 'api/bulkadd/jobs', { body });
      if (!started.jobId) {
        this.result.replaceChildren(el('p', {}, 'Nobody on the list can be added now: they are members already, or cannot be added.'));
        return;
      }
      this.result.replaceChildren(el('p', { id: 'bulk-progress' }, `Adding ${started.toAdd} people…`));
      await this.poll(started.jobId);
    } catch (err) {
      add.disabled = false;
      this.showError(err);
    }
  }

  private async poll(jobId: string): Promise<void> {
    let job: JobView;
    try {
      job = await this.api.call<JobView>('GET', `api/bulkadd/jobs/${encodeURIComponent(jobId)}`);
    } catch (err) {
      // A network blip: ask again later; a refusal ends the polling.
      if (!(err instanceof ApiError) || err.status === 0 || err.status >= 500)
        this.timer = window.setTimeout(() => void this.poll(jobId), POLL_MS);
      else this.showError(err);
      return;
    }
    if (job.status !== 'done' || !job.rows) {
      const meter = el('progress', { max: String(job.total), value: String(job.done) });
      this.result.replaceChildren(el('p', { id: 'bulk-progress' }, `Done ${job.done} of ${job.total} rows…`), meter);
      this.timer = window.setTimeout(() => void this.poll(jobId), POLL_MS);
      return;
    }
    this.showReport(job);
  }

  private showReport(job: JobView): void {
    const rows = job.rows ?? [];
    const added = rows.filter((r) => r.outcome === 'added').length;
    const download = button('Download the report (CSV)', () => downloadText(job.csv ?? '', 'add-people-report.csv'), {
      class: 'secondary',
    });
    this.result.replaceChildren(
      el('h4', { id: 'bulk-done' }, `Done: ${added} added of ${rows.length} rows`),
      table(
        'bulk-report',
        ['Line', 'Group', 'Person', 'Outcome', 'Reason'],
        rows
          .slice(0, ROWS_SHOWN)
          .map((r) => [String(r.line), r.group, r.address ? `${r.user} · ${r.address}` : r.user, r.outcome, r.reason]),
      ),
      rows.length > ROWS_SHOWN ? el('p', { class: 'help' }, `and ${rows.length - ROWS_SHOWN} more rows in the report`) : el('span'),
      el('div', { class: 'row' }, download),
    );
  }
}

function table(id: string, headings: string[], rows: string[][]): HTMLElement {
  return el(
    'div',
    { class: 'table-scroll' },
    el(
      'table',
      { id },
      el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))),
    ),
  );
}

function messageOf(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong. Please try again.';
}

/** The file, gzipped and base64-encoded: the JSON body limit is 256 KB, and CSVs compress well. */
async function gzipBase64(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function downloadText(text: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = el('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
