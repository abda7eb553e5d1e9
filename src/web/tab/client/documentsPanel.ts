import type { ApiClient } from './apiClient';
import { button, el } from './dom';
import type { DocumentLinks } from './tabTypes';

/** Ask for fresh download links this long before the old ones expire. */
const LINK_EXPIRY_MARGIN_MS = 60_000;

/** The step-4 documents of the open group: the poster and email download links, signed for an hour. Browser code. */
export class DocumentsPanel {
  private links: DocumentLinks | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly showError: (err: unknown) => void,
  ) {}

  /** Another group was selected: its links (fetched with it), or none yet. */
  use(links: DocumentLinks | undefined): void {
    this.links = links;
  }

  /** The documents card of a group. */
  section(groupId: string): HTMLElement {
    const list = el('ul', { class: 'downloads' });
    const section = el(
      'section',
      { class: 'card', 'aria-labelledby': 'documents-heading' },
      el('h3', { id: 'documents-heading' }, 'Ask everyone to move'),
    );
    section.append(
      el('p', { class: 'help' }, 'A poster to print or post, and an email to send. Both carry the invite link and QR code.'),
      list,
    );
    if (!this.links) {
      section.append(
        button('Get the poster and email', () => void this.refresh(groupId).then(() => this.render(list, groupId)), { class: 'secondary' }),
      );
      return section;
    }
    this.render(list, groupId);
    return section;
  }

  /** Draws the download links into the card's list. */
  render(list: HTMLElement, groupId: string): void {
    const links = this.links;
    if (!links) return;
    const download = (href: string, label: string, key: keyof Pick<DocumentLinks, 'posterUrl' | 'introPosterUrl' | 'emailFileUrl'>) => {
      const a = el('a', { href, download: true, class: 'download' }, label);
      a.addEventListener('click', (event) => {
        // The links are signed for an hour; a tab left open longer asks for fresh ones first.
        if (!this.links || Date.parse(this.links.expiresAt) - Date.now() > LINK_EXPIRY_MARGIN_MS) return;
        event.preventDefault();
        void this.refresh(groupId).then(() => {
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
      download(
        links.introPosterUrl,
        'Download "Bring your work groups to Teams" (PowerPoint), for people who run other groups',
        'introPosterUrl',
      ),
    );
  }

  /** Fetches fresh links (after a link reset, or when the old ones are about to expire). */
  async refresh(groupId: string): Promise<void> {
    try {
      this.links = await this.api.call<DocumentLinks>('POST', `api/groups/${encodeURIComponent(groupId)}/documents`);
    } catch (err) {
      this.showError(err);
    }
  }
}
