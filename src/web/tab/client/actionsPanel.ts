import type { ApiClient } from './apiClient';
import { button, el } from './dom';
import type { ActionApiView } from '../../actionApiView';

/**
 * The open group's announcements and polls (issue 19), browser code: create one (posted to every member like a
 * post), watch the answers come in, download the report. Times are shown in the reader's own zone.
 */
export class ActionsPanel {
  readonly element: HTMLElement;
  private readonly list = el('div', { class: 'actions-list' });
  private readonly status = el('p', { class: 'help', role: 'status' });

  constructor(
    private readonly api: ApiClient,
    readonly groupId: string,
  ) {
    this.element = el(
      'section',
      { class: 'card', 'aria-labelledby': 'actions-heading' },
      el('h3', { id: 'actions-heading' }, 'Announcements and polls'),
      this.form(),
      this.status,
      el(
        'div',
        { class: 'row' },
        button('Refresh results', () => void this.load(), { class: 'secondary' }),
      ),
      this.list,
    );
  }

  async load(): Promise<void> {
    try {
      const { actions } = await this.api.call<{ actions: ActionApiView[] }>(
        'GET',
        `api/groups/${encodeURIComponent(this.groupId)}/actions`,
      );
      this.list.replaceChildren(...(actions.length ? actions.map((a) => this.item(a)) : [el('p', { class: 'help' }, 'None yet.')]));
    } catch (err) {
      this.status.textContent = (err as Error).message;
    }
  }

  private item(a: ActionApiView): HTMLElement {
    const when = new Date(a.createdAt).toLocaleString();
    const verb = a.kind === 'poll' ? 'voted' : 'confirmed';
    const parts: Array<Node | string> = [
      el('h4', {}, `${a.kind === 'poll' ? 'Poll' : 'Announcement'}: ${a.title}`),
      el('p', { class: 'meta' }, `${a.senderName} · ${when}${a.open ? '' : ' · closed'}`),
    ];
    if (a.text) parts.push(el('p', {}, a.text));
    if (a.results && a.memberCount !== undefined)
      parts.push(el('p', { class: 'count' }, `${a.results.answered.toLocaleString()} of ${a.memberCount.toLocaleString()} ${verb}`));
    if (a.results && a.options) {
      const rows = a.options.map((o, i) => el('li', {}, `${o}: ${a.results!.counts[i] ?? 0}`));
      parts.push(el('ul', { class: 'results' }, ...rows));
    }
    if (a.answeredAt) parts.push(el('p', { class: 'meta' }, `You ${verb} at ${new Date(a.answeredAt).toLocaleString()}`));
    if (a.reportUrl) parts.push(el('a', { href: a.reportUrl, download: true, class: 'download' }, 'Download the report (CSV)'));
    return el('article', { class: 'action-item', 'data-action': a.id }, ...parts);
  }

  private form(): HTMLElement {
    const kind = el(
      'select',
      { id: 'action-kind' },
      el('option', { value: 'announcement' }, 'Announcement'),
      el('option', { value: 'poll' }, 'Poll'),
    );
    const title = el('input', { id: 'action-title', maxlength: '120' });
    const body = el('textarea', { id: 'action-text', maxlength: '2000', rows: '3' });
    const anonymous = el('input', { id: 'action-anonymous', type: 'checkbox' });
    const send = button(
      'Send to the group',
      () => {
        const isPoll = kind.value === 'poll';
        const options = body.value
          .split('\n')
          .map((o) => o.trim())
          .filter((o) => o !== '');
        const payload = isPoll
          ? { kind: 'poll', question: title.value, options, anonymous: anonymous.checked }
          : { kind: 'announcement', title: title.value, text: body.value, askConfirm: true };
        const key = `tab-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
        this.status.textContent = 'Sending...';
        void this.api
          .call('POST', `api/groups/${encodeURIComponent(this.groupId)}/actions`, { body: payload, headers: { 'Idempotency-Key': key } })
          .then(() => {
            this.status.textContent = 'Sent to every member.';
            title.value = '';
            body.value = '';
            return this.load();
          })
          .catch((err: Error) => {
            this.status.textContent = err.message;
          });
      },
      { class: 'primary', id: 'action-send' },
    );
    return el(
      'div',
      { class: 'action-form' },
      el('label', { for: 'action-kind' }, 'What to send'),
      kind,
      el('label', { for: 'action-title' }, 'Title, or the poll question'),
      title,
      el('label', { for: 'action-text' }, 'Text, or one poll option per line'),
      body,
      el('label', {}, anonymous, ' Anonymous poll (nobody sees who chose what; a vote is final)'),
      send,
    );
  }
}
