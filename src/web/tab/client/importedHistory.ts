/**
 * A group's imported earlier messages in the tab (issue 20, GET /api/groups/:id/imported): shown on request,
 * 20 a page, oldest first, "Earlier imported messages" for the page before. Each says it was imported and from
 * where; its sender is the export's name, or the member an admin confirmed. Text only ever as text.
 */
import { ApiError, type ApiClient } from './apiClient';
import { button, el } from './dom';

interface ImportedMessageView {
  imported: true;
  source: 'whatsapp' | 'telegram';
  at: string;
  senderName: string;
  kind: 'text' | 'system' | 'media' | 'deleted';
  text: string;
  fileName?: string;
  replyTo?: { sender: string; preview: string };
  member?: { id: string; name: string };
}

const SOURCE: Record<ImportedMessageView['source'], string> = { whatsapp: 'WhatsApp', telegram: 'Telegram' };

export function dateTimeLabel(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export class ImportedHistoryPanel {
  readonly element: HTMLElement;
  private earlier: string | undefined;
  private readonly list = el('ol', { class: 'posts', id: 'imported-posts', 'aria-labelledby': 'imported-heading', hidden: true });
  private readonly show = button('Show imported earlier messages', () => void this.load(), {
    class: 'secondary',
    'aria-controls': 'imported-posts',
  });
  private readonly earlierButton = button('Earlier imported messages', () => void this.load(this.earlier), {
    class: 'secondary',
    hidden: true,
    'aria-controls': 'imported-posts',
  });
  private readonly note = el('p', { class: 'help', id: 'imported-note' });

  constructor(
    private readonly api: ApiClient,
    readonly groupId: string,
  ) {
    this.element = el(
      'section',
      { class: 'card', 'aria-labelledby': 'imported-heading' },
      el('h3', { id: 'imported-heading' }, 'Imported earlier messages'),
      el('p', { class: 'help' }, 'Messages from before the group moved here, imported by an admin. They keep their original times.'),
      this.show,
      this.earlierButton,
      this.list,
      this.note,
    );
  }

  /** The newest page (no cursor), or the page before `before`, put above what is shown. */
  async load(before?: string): Promise<void> {
    this.show.disabled = this.earlierButton.disabled = true;
    try {
      const query = before ? `?before=${encodeURIComponent(before)}` : '';
      const page = await this.api.call<{ messages: ImportedMessageView[]; earlier?: string }>(
        'GET',
        `api/groups/${encodeURIComponent(this.groupId)}/imported${query}`,
      );
      const items = page.messages.map((m) => this.item(m));
      if (before) this.list.prepend(...items);
      else this.list.replaceChildren(...items);
      this.list.hidden = this.list.childElementCount === 0;
      this.earlier = page.earlier;
      this.earlierButton.hidden = page.earlier === undefined;
      this.show.hidden = true;
      this.note.textContent = this.list.childElementCount === 0 ? 'Nothing was imported into this group.' : '';
    } catch (err) {
      this.note.textContent = err instanceof ApiError ? err.message : 'The imported messages could not be loaded.';
    } finally {
      this.show.disabled = this.earlierButton.disabled = false;
    }
  }

  private item(m: ImportedMessageView): HTMLElement {
    const from = SOURCE[m.source];
    const head = el(
      'p',
      { class: 'post-head' },
      el('strong', { class: 'post-sender' }, m.member ? m.member.name : m.senderName || 'Someone'),
      el(
        'span',
        { class: 'meta imported-mark' },
        m.member ? ` · imported from ${from}, where they were ${m.senderName}` : ` · imported from ${from}`,
      ),
      el('time', { class: 'meta post-time', datetime: m.at }, dateTimeLabel(m.at)),
    );
    const parts: HTMLElement[] = [head];
    if (m.replyTo) parts.push(el('p', { class: 'post-reply' }, `replying to ${m.replyTo.sender}: ${m.replyTo.preview}`));
    if (m.kind === 'media') parts.push(el('p', { class: 'post-deleted' }, `${m.fileName ?? 'A file'}: not imported`));
    if (m.text.trim() !== '') parts.push(el('p', { class: 'post-text' }, m.text));
    return el('li', { class: 'post imported' }, ...parts);
  }
}
