import type { ApiClient } from './apiClient';
import { button, el } from './dom';

/** The shape of GET /api/groups/:id/members (src/web/membersApi.ts). */
interface MembersPage {
  memberCount: number;
  adminsOnly: boolean;
  members: Array<{ name: string; role: 'admin' | 'member'; isYou: boolean }>;
  continuationToken?: string;
}

/**
 * The open group's members (issue 18): 50 at a time with "Show more", and a search by part of a name. Members
 * of a group whose members do not see each other get the admins and themselves, and no search. Browser code.
 */
export class MembersPanel {
  readonly element: HTMLElement;
  private readonly list = el('ul', { class: 'members', 'aria-live': 'polite' });
  private readonly more = button('Show more members', () => void this.load(false), { class: 'secondary', hidden: true });
  private readonly search = el('input', {
    id: 'member-search',
    type: 'search',
    maxlength: '100',
    placeholder: 'A name, or how a name or surname begins',
  });
  private readonly note = el('p', { class: 'meta' });
  private readonly form: HTMLFormElement;
  private token: string | undefined;
  private query = '';

  constructor(
    private readonly api: ApiClient,
    readonly groupId: string,
    private readonly showError: (err: unknown) => void,
  ) {
    const form = (this.form = el(
      'form',
      { class: 'row', role: 'search' },
      el('label', { for: 'member-search' }, 'Search by name'),
      this.search,
      el('button', { type: 'submit' }, 'Search'),
    ));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.query = this.search.value.trim();
      void this.load(true);
    });
    this.element = el(
      'section',
      { class: 'card', 'aria-labelledby': 'members-heading' },
      el('h3', { id: 'members-heading' }, 'Members'),
      this.note,
      form,
      this.list,
      this.more,
    );
  }

  /** The first page (`fresh`) or the next one. */
  async load(fresh: boolean): Promise<void> {
    const params = new URLSearchParams();
    if (this.query) params.set('search', this.query);
    if (!fresh && this.token) params.set('continuationToken', this.token);
    try {
      const page = await this.api.call<MembersPage>('GET', `api/groups/${encodeURIComponent(this.groupId)}/members?${params.toString()}`);
      if (fresh) this.list.replaceChildren();
      for (const m of page.members) {
        const name = m.isYou ? `${m.name || 'You'} (you)` : m.name || 'Unnamed';
        this.list.append(el('li', {}, name, m.role === 'admin' ? el('span', { class: 'meta' }, ' · Admin') : undefined));
      }
      this.note.textContent = page.adminsOnly
        ? `${page.memberCount} members. In this group members see the admins, not each other.`
        : `${page.memberCount} members${this.query ? `; names containing "${this.query}"` : ''}.`;
      // No search to probe names with where members do not see each other (the page's CSS shows every form).
      if (page.adminsOnly) this.form.remove();
      else if (!this.form.isConnected) this.list.before(this.form);
      this.token = page.continuationToken;
      this.more.hidden = this.token === undefined;
    } catch (err) {
      this.showError(err);
    }
  }
}
