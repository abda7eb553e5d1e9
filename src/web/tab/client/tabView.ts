import { ApiError, type ApiClient } from './apiClient';
import { ConversationPanel } from './conversation';
import { MembersPanel } from './membersPanel';
import { BulkAddPanel } from './bulkAddPanel';
import { DocumentsPanel } from './documentsPanel';
import { ImportedHistoryPanel } from './importedHistory';
import { ImportPanel } from './importPanel';
import { ActionsPanel } from './actionsPanel';
import { button, el, type Child } from './dom';
import type { StatusRegion } from './statusRegion';
import { members, statusLabel, type DocumentLinks, type GroupDetail, type GroupSummary, type InviteView } from './tabTypes';

/** The tab's view: the user's groups, and for the selected one its detail. Browser code. */
export class TabView {
  private groups: GroupSummary[] = [];
  private continuationToken: string | undefined;
  private selectedId: string | undefined;
  /** Increases on every selection; answers for an older selection are dropped. */
  private selection = 0;
  private readonly documents: DocumentsPanel;
  private readonly bulkAdd: BulkAddPanel;
  /** The open group's conversation; kept when the detail is drawn again, so a half-written post survives. */
  private conversation: ConversationPanel | undefined;
  /** Imported earlier messages, and (admins) importing them: kept like the conversation (issue 20). */
  private imported: ImportedHistoryPanel | undefined;
  private importing: ImportPanel | undefined;
  /** The open group's members, 50 at a time (issue 18). */
  private members: MembersPanel | undefined;
  /** The open group's announcements and polls (issue 19). */
  private actionsPanel: ActionsPanel | undefined;

  private readonly list = el('ul', { class: 'group-list', id: 'group-list' });
  private readonly more = button('Show more groups', () => void this.loadGroups(), { class: 'secondary', hidden: true });
  private readonly detail = el('section', { class: 'detail', 'aria-labelledby': 'detail-heading', hidden: true });

  constructor(
    root: HTMLElement,
    private readonly api: ApiClient,
    private readonly status: StatusRegion,
  ) {
    this.documents = new DocumentsPanel(api, (err) => this.showError(err));
    this.bulkAdd = new BulkAddPanel(api, (err) => this.showError(err));
    root.replaceChildren(
      el(
        'div',
        { class: 'layout' },
        el(
          'section',
          { class: 'groups', 'aria-labelledby': 'groups-heading' },
          el('h2', { id: 'groups-heading' }, 'Your groups'),
          this.list,
          this.more,
        ),
        this.detail,
      ),
    );
  }

  async loadGroups(): Promise<void> {
    this.more.disabled = true;
    try {
      const query = this.continuationToken ? `?continuationToken=${encodeURIComponent(this.continuationToken)}` : '';
      const page = await this.api.call<{ groups: GroupSummary[]; continuationToken?: string }>('GET', `api/me/groups${query}`);
      this.groups = [...this.groups, ...page.groups.filter((g) => !this.groups.some((known) => known.id === g.id))];
      this.continuationToken = page.continuationToken;
      this.renderList();
      if (this.groups.length === 0) {
        this.status.show('You are not in any groups yet. Chat with the bot and send "new group" to start one.');
      } else {
        this.status.show(`${this.groups.length} ${this.groups.length === 1 ? 'group' : 'groups'} loaded.`);
      }
    } catch (err) {
      this.showError(err);
    } finally {
      this.more.disabled = false;
      this.more.hidden = this.continuationToken === undefined;
    }
  }

  private renderList(): void {
    if (this.groups.length === 0) {
      this.list.replaceChildren(el('li', { class: 'empty' }, 'No groups yet.'));
      return;
    }
    this.list.replaceChildren(
      ...this.groups.map((group) => {
        const pick = button('', () => void this.select(group.id), {
          class: 'group',
          'aria-current': group.id === this.selectedId ? 'true' : false,
        });
        pick.replaceChildren(
          el('span', { class: 'group-name' }, group.name),
          el(
            'span',
            { class: 'group-meta' },
            `${members(group.memberCount)} · ${group.role === 'admin' ? 'Admin' : 'Member'} · ${statusLabel(group)}`,
          ),
        );
        return el('li', {}, pick);
      }),
    );
  }

  private async select(groupId: string): Promise<void> {
    const ticket = ++this.selection;
    this.selectedId = groupId;
    this.documents.use(undefined);
    this.renderList();
    this.detail.hidden = false;
    this.detail.setAttribute('aria-busy', 'true');
    this.detail.replaceChildren(el('h2', { id: 'detail-heading', tabindex: '-1' }, 'Loading the group…'));
    try {
      const [detail, links] = await Promise.all([
        this.api.call<GroupDetail>('GET', `api/groups/${encodeURIComponent(groupId)}`),
        this.api.call<DocumentLinks>('POST', `api/groups/${encodeURIComponent(groupId)}/documents`).catch(() => undefined),
      ]);
      if (ticket !== this.selection) return;
      this.documents.use(links);
      this.renderDetail(detail);
      (this.detail.querySelector('#detail-heading') as HTMLElement | null)?.focus();
    } catch (err) {
      if (ticket !== this.selection) return;
      this.detail.replaceChildren(el('h2', { id: 'detail-heading', tabindex: '-1' }, 'This group could not be opened'));
      this.showError(err);
    } finally {
      if (ticket === this.selection) this.detail.removeAttribute('aria-busy');
    }
  }

  private renderDetail(detail: GroupDetail): void {
    const { group, invite } = detail;
    const adminNames = detail.admins.map((a) => (a.isYou ? `${a.name || 'You'} (you)` : a.name || 'Unnamed')).join(', ');
    const inviteField = el('input', {
      id: 'invite-link',
      class: 'invite-link',
      type: 'text',
      readonly: true,
      value: invite.url,
      'aria-describedby': 'invite-help',
    });
    const copy = button('Copy link', () => void this.copyLink(inviteField), { class: 'primary' });

    const sections: Child[] = [
      el('h2', { id: 'detail-heading', tabindex: '-1' }, group.name),
      el(
        'p',
        { class: 'meta' },
        `${members(group.memberCount)} · ${statusLabel(group)}${detail.viewerIsAdmin ? ' · You are an admin' : ''}`,
      ),
      adminNames ? el('p', { class: 'meta' }, `Admins: ${adminNames}`) : undefined,
      this.conversationFor(group.id),
      this.importedFor(group.id),
      this.membersFor(group.id),
      this.actionsFor(group.id),

      el(
        'section',
        { class: 'card', 'aria-labelledby': 'invite-heading' },
        el('h3', { id: 'invite-heading' }, 'Invite people'),
        el('label', { for: 'invite-link' }, 'Invite link'),
        el('div', { class: 'row' }, inviteField, copy),
        el('p', { id: 'invite-help', class: 'help' }, 'Anyone with the link can join. Share it only where it belongs.'),
        el('p', {}, 'Join code: ', el('strong', { class: 'join-code' }, invite.joinCode)),
        el('img', { class: 'qr', src: invite.qrDataUrl, alt: `QR code of the invite link for ${group.name}`, width: '160', height: '160' }),
      ),
    ];

    if (detail.viewerIsAdmin) sections.push(this.adminSection(detail), this.bulkAdd.section(group), this.importFor(group.id));
    sections.push(this.documents.section(group.id));
    this.detail.replaceChildren(...sections.filter((s): s is Node | string => s !== undefined && s !== false));
  }

  private membersFor(groupId: string): HTMLElement {
    if (this.members?.groupId !== groupId) {
      this.members = new MembersPanel(this.api, groupId, (err) => this.showError(err));
      void this.members.load(true);
    }
    return this.members.element;
  }

  private actionsFor(groupId: string): HTMLElement {
    if (this.actionsPanel?.groupId !== groupId) {
      this.actionsPanel = new ActionsPanel(this.api, groupId);
      void this.actionsPanel.load();
    }
    return this.actionsPanel.element;
  }

  private conversationFor(groupId: string): HTMLElement {
    if (this.conversation?.groupId !== groupId) {
      this.conversation = new ConversationPanel(this.api, groupId);
      void this.conversation.loadLatest();
    }
    return this.conversation.element;
  }

  private importedFor(groupId: string): HTMLElement {
    if (this.imported?.groupId !== groupId) this.imported = new ImportedHistoryPanel(this.api, groupId);
    return this.imported.element;
  }

  private importFor(groupId: string): HTMLElement {
    if (this.importing?.groupId !== groupId) this.importing = new ImportPanel(this.api, groupId);
    return this.importing.element;
  }

  private adminSection(detail: GroupDetail): HTMLElement {
    const { group } = detail;
    const reset = this.confirmable({
      id: 'reset',
      label: 'Reset link',
      question: 'Reset the invite link? The current link and join code stop working at once. People already in the group stay in it.',
      confirmLabel: 'Yes, reset the link',
      run: () => this.resetLink(group.id),
    });
    const parts: Child[] = [el('h3', { id: 'admin-heading' }, 'Admin'), reset];
    if (group.status === 'private') {
      parts.push(
        this.confirmable({
          id: 'organization',
          label: 'Add to organization',
          question: `Add ${group.name} to the organization you signed in with? This cannot be undone: the group and its chat will belong to the organization.`,
          confirmLabel: 'Yes, add it',
          run: () => this.addToOrganization(group.id),
        }),
      );
    } else {
      parts.push(el('p', { class: 'help' }, `This group belongs to ${group.organizationName ?? 'your organization'}.`));
    }
    return el('section', { class: 'card', 'aria-labelledby': 'admin-heading' }, ...parts);
  }

  /**
   * A button that asks before it acts, in the page itself: Teams clients (mobile web views in particular) do not
   * reliably show window.confirm() from a tab.
   */
  private confirmable(options: {
    id: string;
    label: string;
    question: string;
    confirmLabel: string;
    run: () => Promise<void>;
  }): HTMLElement {
    const questionId = `${options.id}-question`;
    const panel = el('div', { class: 'confirm', role: 'group', 'aria-labelledby': questionId, hidden: true });
    const open = button(
      options.label,
      () => {
        panel.hidden = false;
        open.setAttribute('aria-expanded', 'true');
        cancel.focus();
      },
      { class: 'secondary', 'aria-expanded': 'false', 'aria-controls': `${options.id}-confirm` },
    );
    panel.id = `${options.id}-confirm`;
    const close = () => {
      panel.hidden = true;
      open.setAttribute('aria-expanded', 'false');
    };
    const yes = button(
      options.confirmLabel,
      () => {
        yes.disabled = true;
        void options.run().finally(() => {
          yes.disabled = false;
          close();
        });
      },
      { class: 'danger' },
    );
    const cancel = button(
      'Cancel',
      () => {
        close();
        open.focus();
      },
      { class: 'secondary' },
    );
    panel.append(el('p', { id: questionId }, options.question), el('div', { class: 'row' }, yes, cancel));
    return el('div', { class: 'action' }, open, panel);
  }

  private async copyLink(field: HTMLInputElement): Promise<void> {
    try {
      await navigator.clipboard.writeText(field.value);
      this.status.show('Invite link copied.', 'success');
    } catch {
      // Clipboard access can be blocked inside Teams; selecting the text lets people copy it themselves.
      field.focus();
      field.select();
      const copied = document.execCommand?.('copy') ?? false;
      this.status.show(
        copied ? 'Invite link copied.' : 'The link is selected: copy it with your keyboard or menu.',
        copied ? 'success' : 'info',
      );
    }
  }

  private async resetLink(groupId: string): Promise<void> {
    try {
      const shown = this.detail.querySelector<HTMLInputElement>('#invite-link')?.value ?? '';
      const { invite, reset } = await this.api.call<{ invite: InviteView; reset?: boolean }>(
        'POST',
        `api/groups/${encodeURIComponent(groupId)}/invite/reset?from=${encodeURIComponent(shown)}`,
      );
      if (groupId !== this.selectedId) return;
      const field = this.detail.querySelector<HTMLInputElement>('#invite-link');
      if (field) field.value = invite.url;
      const code = this.detail.querySelector('.join-code');
      if (code) code.textContent = invite.joinCode;
      const qr = this.detail.querySelector<HTMLImageElement>('img.qr');
      if (qr) qr.src = invite.qrDataUrl;
      // The documents carry the link too: the old ones now print a dead link.
      await this.documents.refresh(groupId);
      const list = this.detail.querySelector<HTMLElement>('ul.downloads');
      if (list) this.documents.render(list, groupId);
      this.status.show(
        reset === false
          ? 'This link was already reset. This is the current one.'
          : 'The invite link was reset. The old link and join code no longer work.',
        'success',
      );
      field?.focus();
    } catch (err) {
      this.showError(err);
    }
  }

  private async addToOrganization(groupId: string): Promise<void> {
    try {
      const detail = await this.api.call<GroupDetail & { changed: boolean }>(
        'POST',
        `api/groups/${encodeURIComponent(groupId)}/organization`,
      );
      this.groups = this.groups.map((g) =>
        g.id === groupId ? { ...g, status: detail.group.status, organizationName: detail.group.organizationName } : g,
      );
      this.renderList();
      if (groupId !== this.selectedId) return;
      this.renderDetail(detail);
      this.status.show(`${detail.group.name} now belongs to ${detail.group.organizationName ?? 'your organization'}.`, 'success');
      (this.detail.querySelector('#detail-heading') as HTMLElement | null)?.focus();
    } catch (err) {
      this.showError(err);
    }
  }

  private showError(err: unknown): void {
    this.status.show(err instanceof ApiError ? err.message : 'Something went wrong. Please try again.', 'error');
  }
}
