/**
 * The Teams tab: the user's groups, and for one group its invite link, QR code, admin actions and the step-4
 * documents. Browser code, bundled by esbuild (src/web/tab/tabPage.ts). Plain DOM; text only ever goes in
 * through textContent or attributes, never innerHTML.
 *
 * Sign-in: inside Teams, `authentication.getAuthToken()` (Teams SSO) gives the token the API verifies. Outside
 * Teams the page explains how to open it there. Tests replace the token provider through
 * `window.__kaizalaTestTokenProvider`, which is read only when the server marked the page with
 * `data-test-hooks="on"` (it does so only when configured with `allowTestHooks: true`, never in production).
 */
import type * as TeamsJs from '@microsoft/teams-js';
import { ApiClient, ApiError, type TokenProvider } from './apiClient';
import { ConversationPanel } from './conversation';
import { button, el, type Child } from './dom';

declare global {
  interface Window {
    /** Test hook, see the module comment. */
    __kaizalaTestTokenProvider?: TokenProvider;
  }
}

/** Teams answers initialize in well under a second; silence this long means we are not inside Teams. */
const TEAMS_INIT_TIMEOUT_MS = 5000;
/** Ask for fresh download links this long before the old ones expire. */
const LINK_EXPIRY_MARGIN_MS = 60_000;

/** The server's base URL: the script is served at <base>/tab/tab.js. Read while the script runs. */
const SERVER_BASE = new URL('../', (document.currentScript as HTMLScriptElement | null)?.src ?? window.location.href);

// ---- API types (mirror src/web/api.ts) --------------------------------------------------------------------

interface GroupSummary {
  id: string;
  name: string;
  memberCount: number;
  role: 'admin' | 'member';
  status: 'private' | 'organization';
  organizationName?: string;
  photoUrl?: string;
}

interface InviteView {
  url: string;
  joinCode: string;
  qrDataUrl: string;
}

interface GroupDetail {
  group: Omit<GroupSummary, 'role'> & { createdAt: string };
  viewerIsAdmin: boolean;
  invite: InviteView;
  admins: Array<{ name: string; isYou: boolean }>;
}

interface DocumentLinks {
  posterUrl: string;
  introPosterUrl: string;
  emailFileUrl: string;
  mailtoUrl: string;
  expiresAt: string;
}

// ---- DOM helpers ------------------------------------------------------------------------------------------

function members(count: number): string {
  return `${count} ${count === 1 ? 'member' : 'members'}`;
}

function statusLabel(group: Pick<GroupSummary, 'status' | 'organizationName'>): string {
  return group.status === 'organization' ? `Organization: ${group.organizationName ?? 'yes'}` : 'Private group';
}

// ---- status region ----------------------------------------------------------------------------------------

class StatusRegion {
  constructor(private readonly node: HTMLElement) {}

  /** Results and errors both go to the one polite live region, so screen readers hear them in order. */
  show(message: string, kind: 'info' | 'success' | 'error' = 'info'): void {
    this.node.dataset.kind = kind;
    // Clearing first makes a repeated message be announced again.
    this.node.textContent = '';
    window.setTimeout(() => {
      this.node.textContent = message;
    }, 30);
  }
}

// ---- the view ---------------------------------------------------------------------------------------------

class TabView {
  private groups: GroupSummary[] = [];
  private continuationToken: string | undefined;
  private selectedId: string | undefined;
  /** Increases on every selection; answers for an older selection are dropped. */
  private selection = 0;
  private links: DocumentLinks | undefined;
  /** The open group's conversation; kept when the detail is drawn again, so a half-written post survives. */
  private conversation: ConversationPanel | undefined;

  private readonly list = el('ul', { class: 'group-list', id: 'group-list' });
  private readonly more = button('Show more groups', () => void this.loadGroups(), { class: 'secondary', hidden: true });
  private readonly detail = el('section', { class: 'detail', 'aria-labelledby': 'detail-heading', hidden: true });

  constructor(
    root: HTMLElement,
    private readonly api: ApiClient,
    private readonly status: StatusRegion,
  ) {
    root.replaceChildren(
      el(
        'div',
        { class: 'layout' },
        el('section', { class: 'groups', 'aria-labelledby': 'groups-heading' }, el('h2', { id: 'groups-heading' }, 'Your groups'), this.list, this.more),
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
        const pick = button('', () => void this.select(group.id), { class: 'group', 'aria-current': group.id === this.selectedId ? 'true' : false });
        pick.replaceChildren(
          el('span', { class: 'group-name' }, group.name),
          el('span', { class: 'group-meta' }, `${members(group.memberCount)} · ${group.role === 'admin' ? 'Admin' : 'Member'} · ${statusLabel(group)}`),
        );
        return el('li', {}, pick);
      }),
    );
  }

  private async select(groupId: string): Promise<void> {
    const ticket = ++this.selection;
    this.selectedId = groupId;
    this.links = undefined;
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
      this.links = links;
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
    const inviteField = el('input', { id: 'invite-link', class: 'invite-link', type: 'text', readonly: true, value: invite.url, 'aria-describedby': 'invite-help' });
    const copy = button('Copy link', () => void this.copyLink(inviteField), { class: 'primary' });

    const sections: Child[] = [
      el('h2', { id: 'detail-heading', tabindex: '-1' }, group.name),
      el('p', { class: 'meta' }, `${members(group.memberCount)} · ${statusLabel(group)}${detail.viewerIsAdmin ? ' · You are an admin' : ''}`),
      adminNames ? el('p', { class: 'meta' }, `Admins: ${adminNames}`) : undefined,
      this.conversationFor(group.id),

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

    if (detail.viewerIsAdmin) sections.push(this.adminSection(detail));
    sections.push(this.documentsSection(group.id));
    this.detail.replaceChildren(...sections.filter((s): s is Node | string => s !== undefined && s !== false));
  }

  private conversationFor(groupId: string): HTMLElement {
    if (this.conversation?.groupId !== groupId) {
      this.conversation = new ConversationPanel(this.api, groupId);
      void this.conversation.loadLatest();
    }
    return this.conversation.element;
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
  private confirmable(options: { id: string; label: string; question: string; confirmLabel: string; run: () => Promise<void> }): HTMLElement {
    const questionId = `${options.id}-question`;
    const panel = el('div', { class: 'confirm', role: 'group', 'aria-labelledby': questionId, hidden: true });
    const open = button(options.label, () => {
      panel.hidden = false;
      open.setAttribute('aria-expanded', 'true');
      cancel.focus();
    }, { class: 'secondary', 'aria-expanded': 'false', 'aria-controls': `${options.id}-confirm` });
    panel.id = `${options.id}-confirm`;
    const close = () => {
      panel.hidden = true;
      open.setAttribute('aria-expanded', 'false');
    };
    const yes = button(options.confirmLabel, () => {
      yes.disabled = true;
      void options.run().finally(() => {
        yes.disabled = false;
        close();
      });
    }, { class: 'danger' });
    const cancel = button('Cancel', () => {
      close();
      open.focus();
    }, { class: 'secondary' });
    panel.append(el('p', { id: questionId }, options.question), el('div', { class: 'row' }, yes, cancel));
    return el('div', { class: 'action' }, open, panel);
  }

  private documentsSection(groupId: string): HTMLElement {
    const list = el('ul', { class: 'downloads' });
    const section = el('section', { class: 'card', 'aria-labelledby': 'documents-heading' }, el('h3', { id: 'documents-heading' }, 'Ask everyone to move'));
    section.append(el('p', { class: 'help' }, 'A poster to print or post, and an email to send. Both carry the invite link and QR code.'), list);
    if (!this.links) {
      section.append(button('Get the poster and email', () => void this.refreshLinks(groupId).then(() => this.renderLinks(list, groupId)), { class: 'secondary' }));
      return section;
    }
    this.renderLinks(list, groupId);
    return section;
  }

  private renderLinks(list: HTMLElement, groupId: string): void {
    const links = this.links;
    if (!links) return;
    const download = (href: string, label: string, key: keyof Pick<DocumentLinks, 'posterUrl' | 'introPosterUrl' | 'emailFileUrl'>) => {
      const a = el('a', { href, download: true, class: 'download' }, label);
      a.addEventListener('click', (event) => {
        // The links are signed for an hour; a tab left open longer asks for fresh ones first.
        if (!this.links || Date.parse(this.links.expiresAt) - Date.now() > LINK_EXPIRY_MARGIN_MS) return;
        event.preventDefault();
        void this.refreshLinks(groupId).then(() => {
          if (!this.links) return;
          a.href = this.links[key];
          a.click();
        });
      });
      return el('li', {}, a);
    };
    list.replaceChildren(
      download(links.posterUrl, 'Download the poster (PowerPoint): "Join" this group, for its members', 'posterUrl'),
      download(links.emailFileUrl, 'Download the email (.eml)', 'emailFileUrl'),
      el('li', {}, el('a', { href: links.mailtoUrl, target: '_blank', rel: 'noopener' }, 'Write the email in your mail app')),
      download(links.introPosterUrl, 'Download "Bring your work groups to Teams" (PowerPoint), for people who run other groups', 'introPosterUrl'),
    );
  }

  private async refreshLinks(groupId: string): Promise<void> {
    try {
      this.links = await this.api.call<DocumentLinks>('POST', `api/groups/${encodeURIComponent(groupId)}/documents`);
    } catch (err) {
      this.showError(err);
    }
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
      this.status.show(copied ? 'Invite link copied.' : 'The link is selected: copy it with your keyboard or menu.', copied ? 'success' : 'info');
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
      await this.refreshLinks(groupId);
      const list = this.detail.querySelector<HTMLElement>('ul.downloads');
      if (list) this.renderLinks(list, groupId);
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
      const detail = await this.api.call<GroupDetail & { changed: boolean }>('POST', `api/groups/${encodeURIComponent(groupId)}/organization`);
      this.groups = this.groups.map((g) => (g.id === groupId ? { ...g, status: detail.group.status, organizationName: detail.group.organizationName } : g));
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

// ---- start ------------------------------------------------------------------------------------------------

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = window.setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        window.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        window.clearTimeout(timer);
        reject(err instanceof Error ? err : new Error('failed'));
      },
    );
  });
}

function applyTheme(theme: string | undefined): void {
  document.documentElement.dataset.theme = theme === 'dark' || theme === 'contrast' ? theme : 'default';
}

/** The test hook when the page allows it, Teams SSO inside Teams, nothing outside Teams. */
async function chooseTokenProvider(): Promise<TokenProvider | undefined> {
  const testHook = window.__kaizalaTestTokenProvider;
  if (document.body.dataset.testHooks === 'on' && typeof testHook === 'function') return () => testHook();
  // Loaded only on this path (esbuild evaluates a dynamically imported module lazily): teams-js fetches its list
  // of valid host origins as soon as it is evaluated.
  let app: typeof TeamsJs.app;
  let authentication: typeof TeamsJs.authentication;
  try {
    ({ app, authentication } = await import('@microsoft/teams-js'));
    await withTimeout(app.initialize(), TEAMS_INIT_TIMEOUT_MS);
  } catch {
    return undefined;
  }
  app.notifySuccess();
  app.getContext().then((context) => applyTheme(context.app.theme), () => undefined);
  app.registerOnThemeChangeHandler(applyTheme);
  return () => authentication.getAuthToken();
}

function showOutsideTeams(root: HTMLElement, status: StatusRegion): void {
  root.replaceChildren(
    el(
      'section',
      { class: 'card outside', 'aria-labelledby': 'outside-heading' },
      el('h2', { id: 'outside-heading' }, 'Open this page in Microsoft Teams'),
      el('p', {}, 'This page is a tab of the Kaizala Groups app and works only inside Teams, where it knows who you are.'),
      el(
        'ol',
        {},
        el('li', {}, 'Open Microsoft Teams (desktop, web or mobile).'),
        el('li', {}, 'Open your chat with the Kaizala Groups bot, or find the app under Apps.'),
        el('li', {}, 'Select the My groups tab at the top of the chat.'),
      ),
    ),
  );
  status.show('Not running inside Microsoft Teams.', 'info');
}

async function start(): Promise<void> {
  const root = document.getElementById('app');
  const statusNode = document.getElementById('status');
  if (!root || !statusNode) return;
  const status = new StatusRegion(statusNode);
  const provider = await chooseTokenProvider();
  if (!provider) {
    showOutsideTeams(root, status);
    return;
  }
  const view = new TabView(root, new ApiClient(provider, SERVER_BASE), status);
  await view.loadGroups();
}

void start();
