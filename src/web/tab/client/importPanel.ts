/**
 * "Import earlier messages" in the tab (issue 20; the API is src/web/importApi.ts), for a group's admins: choose
 * the export (a .txt, .json or .zip, up to 50 MB), see the preview (nothing is stored yet), confirm or change
 * which member each sender is, set the time zone the export was made in, then Import N messages and follow its
 * progress; the group's imports are listed with Undo. Text from the export only ever as text.
 */
import { ApiError, type ApiClient } from './apiClient';
import { button, el } from './dom';
import { dateTimeLabel } from './importedHistory';

const MAX_FILE_BYTES = 50 * 1024 * 1024;
const POLL_MS = 1000;
/** The value of "not a member": the export's name, marked imported. */
const KEEP_NAME = '';

interface PreviewView {
  token: string;
  source: 'whatsapp' | 'telegram';
  fileName: string;
  found: number;
  importable: number;
  system: number;
  media: number;
  deleted: number;
  first?: string;
  last?: string;
  dateOrder: 'day-first' | 'month-first' | 'year-first' | 'either';
  timeZone: string;
  senders: Array<{ name: string; messages: number; match?: { userId: string; name: string } }>;
  members: Array<{ userId: string; name: string }>;
}

interface ImportView {
  importId: string;
  source: string;
  fileName: string;
  by: string;
  startedAt: string;
  state: 'running' | 'done';
  count: number;
}

const count = (n: number, one: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : `${one}s`}`;

export class ImportPanel {
  readonly element: HTMLElement;
  private preview: PreviewView | undefined;
  private readonly file = el('input', { id: 'import-file', type: 'file', accept: '.txt,.json,.zip', 'aria-describedby': 'import-help' });
  private readonly zone = el('input', { id: 'import-zone', type: 'text', autocomplete: 'off', maxlength: '64' });
  private readonly previewButton = button('Preview', () => void this.upload(), { class: 'primary' });
  private readonly previewArea = el('div', { id: 'import-preview', hidden: true });
  private readonly progress = el('progress', { id: 'import-progress', max: '1', value: '0', hidden: true });
  private readonly message = el('p', { id: 'import-status', class: 'help', role: 'status', 'aria-live': 'polite' });
  private readonly list = el('ul', { id: 'import-list', class: 'imports' });

  constructor(
    private readonly api: ApiClient,
    readonly groupId: string,
  ) {
    this.zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    this.element = el(
      'section',
      { class: 'card', 'aria-labelledby': 'import-heading' },
      el('h3', { id: 'import-heading' }, 'Import earlier messages'),
      el(
        'p',
        { id: 'import-help', class: 'help' },
        'A chat exported from WhatsApp or Telegram: the .txt, .json or .zip the app made, up to 50 MB. You see what it holds before anything is stored.',
      ),
      el('label', { for: 'import-file' }, 'Exported chat'),
      this.file,
      el('label', { for: 'import-zone' }, 'Time zone the export was made in (WhatsApp writes none)'),
      this.zone,
      el('div', { class: 'row' }, this.previewButton),
      this.previewArea,
      this.progress,
      this.message,
      el('h4', {}, 'Imports of this group'),
      this.list,
    );
    void this.loadImports();
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  private failed(err: unknown): void {
    this.say(err instanceof ApiError ? err.message : 'Something went wrong. Please try again.');
  }

  private path(rest = ''): string {
    return `api/groups/${encodeURIComponent(this.groupId)}/import${rest}`;
  }

  private async upload(): Promise<void> {
    const chosen = this.file.files?.[0];
    if (!chosen) return this.say('Choose the exported chat first.');
    if (chosen.size > MAX_FILE_BYTES)
      return this.say('This file is larger than 50 MB. Export the chat without media and choose that file.');
    this.previewButton.disabled = true;
    this.say('Reading the export…');
    try {
      const query = `?name=${encodeURIComponent(chosen.name)}&timeZone=${encodeURIComponent(this.zone.value.trim())}`;
      this.show(await this.api.call<PreviewView>('POST', this.path(query), { raw: chosen }));
    } catch (err) {
      this.previewArea.hidden = true;
      this.failed(err);
    } finally {
      this.previewButton.disabled = false;
    }
  }

  private async readAgain(dateOrder?: 'day-first' | 'month-first'): Promise<void> {
    if (!this.preview) return;
    try {
      const body = { timeZone: this.zone.value.trim(), ...(dateOrder ? { dateOrder } : {}) };
      this.show(await this.api.call<PreviewView>('POST', this.path(`/${this.preview.token}/preview`), { body }));
    } catch (err) {
      this.failed(err);
    }
  }

  private show(p: PreviewView): void {
    this.preview = p;
    const app = p.source === 'telegram' ? 'Telegram' : 'WhatsApp';
    const facts: Array<[string, string]> = [
      ['Exported chat', `${app}: ${p.fileName}`],
      ['Messages found', p.found.toLocaleString('en-US')],
      ['To import', `${p.importable.toLocaleString('en-US')} (media listed by file name, not imported)`],
      ['Skipped', `${count(p.system, 'system line')}, ${count(p.deleted, 'deleted message')}`],
      ['Dates read', p.dateOrder.replace('-', ' ')],
      ['Time zone', p.timeZone],
    ];
    if (p.first && p.last) facts.splice(2, 0, ['From', `${dateTimeLabel(p.first)} to ${dateTimeLabel(p.last)}`]);
    const senders = el('tbody');
    p.senders.forEach((s, i) => {
      const select = el('select', { id: `import-sender-${i}`, 'data-sender': s.name, 'aria-label': `Who ${s.name} is` });
      select.append(el('option', { value: KEEP_NAME }, 'Not a member: keep the name, marked imported'));
      for (const m of p.members)
        select.append(el('option', { value: m.userId, selected: m.userId === s.match?.userId }, `Member ${m.name}`));
      senders.append(el('tr', {}, el('th', { scope: 'row' }, s.name), el('td', {}, count(s.messages, 'message')), el('td', {}, select)));
    });
    const actions = el('div', { class: 'row' });
    actions.append(button('Read again with this time zone', () => void this.readAgain(), { class: 'secondary' }));
    if (p.dateOrder === 'day-first' || p.dateOrder === 'month-first') {
      const other = p.dateOrder === 'day-first' ? 'month-first' : 'day-first';
      actions.append(button(`Read dates ${other.replace('-', ' ')}`, () => void this.readAgain(other), { class: 'secondary' }));
    }
    const go = button(`Import ${count(p.importable, 'message')}`, () => void this.start(go), { class: 'primary', id: 'import-start' });
    actions.append(go);
    this.previewArea.replaceChildren(
      el('h4', {}, 'Preview (nothing is stored yet)'),
      el('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
      el('h4', {}, 'Senders'),
      el(
        'p',
        { class: 'help' },
        'A member with the same name is only a suggestion: confirm or change it. Others keep the name from the export, marked imported.',
      ),
      el(
        'table',
        { class: 'senders' },
        el('thead', {}, el('tr', {}, el('th', {}, 'In the export'), el('th', {}, 'Messages'), el('th', {}, 'Is'))),
        senders,
      ),
      actions,
    );
    this.previewArea.hidden = false;
    this.say(`Preview of ${p.fileName}: ${count(p.importable, 'message')} to import.`);
  }

  private async start(go: HTMLButtonElement): Promise<void> {
    const p = this.preview;
    if (!p) return;
    const senders: Record<string, string> = {};
    for (const select of Array.from(this.previewArea.querySelectorAll('select')))
      if (select.value !== KEEP_NAME) senders[select.dataset.sender ?? ''] = select.value;
    go.disabled = true;
    try {
      await this.api.call('POST', this.path(`/${p.token}`), { body: { timeZone: this.zone.value.trim(), senders } });
      this.progress.hidden = false;
      this.progress.value = 0;
      this.say('Importing…');
      await this.follow(p.token);
    } catch (err) {
      this.failed(err);
    } finally {
      go.disabled = false;
    }
  }

  /** Asks how far the job got until it is done (or was refused). */
  private async follow(token: string): Promise<void> {
    for (;;) {
      const status = await this.api.call<{ state: string; written?: number; total?: number; error?: string }>(
        'GET',
        this.path(`/${token}`),
      );
      if (status.state === 'done') break;
      if (status.state === 'waiting') {
        this.progress.hidden = true;
        return this.say(status.error ?? 'The import did not start. Try again.');
      }
      if (status.total) {
        this.progress.max = status.total;
        this.progress.value = status.written ?? 0;
        this.say(`Imported ${(status.written ?? 0).toLocaleString('en-US')} of ${status.total.toLocaleString('en-US')} messages…`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    this.progress.hidden = true;
    this.previewArea.hidden = true;
    this.preview = undefined;
    await this.loadImports();
    this.say('Imported. The group got one post about it.');
  }

  private async loadImports(): Promise<void> {
    try {
      const { imports } = await this.api.call<{ imports: ImportView[] }>('GET', `api/groups/${encodeURIComponent(this.groupId)}/imports`);
      if (imports.length === 0) return void this.list.replaceChildren(el('li', { class: 'help' }, 'Nothing was imported yet.'));
      this.list.replaceChildren(...imports.map((i) => this.importItem(i)));
    } catch (err) {
      this.failed(err);
    }
  }

  private importItem(i: ImportView): HTMLElement {
    const app = i.source === 'telegram' ? 'Telegram' : 'WhatsApp';
    const confirm = el('div', { class: 'confirm', hidden: true });
    const undo = button(
      'Undo',
      () => {
        confirm.hidden = false;
        yes.focus();
      },
      { class: 'secondary' },
    );
    const yes = button(`Yes, remove ${count(i.count, 'message')}`, () => void this.undo(i, yes), { class: 'danger' });
    confirm.append(
      yes,
      button('Cancel', () => (confirm.hidden = true), { class: 'secondary' }),
    );
    return el(
      'li',
      { class: 'import-item' },
      `${app}: ${i.fileName} · ${count(i.count, 'message')}${i.state === 'running' ? ' · unfinished' : ''} · by ${i.by}, ${dateTimeLabel(i.startedAt)} `,
      undo,
      confirm,
    );
  }

  private async undo(i: ImportView, yes: HTMLButtonElement): Promise<void> {
    yes.disabled = true;
    try {
      const { removed } = await this.api.call<{ removed: number }>(
        'POST',
        `api/groups/${encodeURIComponent(this.groupId)}/imports/${encodeURIComponent(i.importId)}/undo`,
      );
      this.say(`Removed the import of ${i.fileName}: ${count(removed, 'message')}.`);
      await this.loadImports();
    } catch (err) {
      this.failed(err);
    } finally {
      yes.disabled = false;
    }
  }
}
