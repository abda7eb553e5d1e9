/**
 * A group's conversation in the tab: its posts, 20 a page from the newest, "Earlier posts" for the page before,
 * and a box to post (src/web/postsApi.ts). What people typed is only ever set as text (text nodes), never as
 * HTML: a post reading `<img src=x onerror=...>` shows those characters.
 *
 * Sending: each message gets a fresh Idempotency-Key. When a send fails (no answer, 429, a server error) the
 * text stays in the box and the key is kept for it, so sending the same text again posts it once even when the
 * first request did reach the server. Changing the text makes it a new message with a new key.
 */
import { ApiError, type ApiClient } from './apiClient';
import type { PostView } from '../../postView';
import { button, el } from './dom';

// ---- API types (mirror src/web/postsApi.ts; PostView is shared with it) ---------------------------------------

export type { PostView };

interface PostPage {
  posts: PostView[];
  /** Pass as `before` for the page before this one; absent on the first page of the conversation. */
  earlier?: number;
}

/** As the server counts (src/groups/posts.ts): characters (code points) of the trimmed text. */
export const MAX_POST_CHARS = 4000;

export const SEND_REFUSED_FORBIDDEN = 'Only admins can post in this group.';
export const SEND_TOO_FAST = 'You are posting too fast, wait a moment and send it again.';
export const SEND_FAILED = 'Not sent. Try again.';

function postLength(text: string): number {
  return Array.from(text.replace(/\r\n?/g, '\n').trim()).length;
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A key the server accepts (8 to 128 visible characters); randomUUID needs a secure context, which Teams is. */
function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function timeLabel(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  const sameDay = at.toDateString() === new Date().toDateString();
  return sameDay
    ? at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export class ConversationPanel {
  readonly element: HTMLElement;
  private readonly posts = new Map<number, PostView>();
  private earlier: number | undefined;
  private loaded = false;

  private readonly list = el('ol', { class: 'posts', id: 'posts', 'aria-labelledby': 'conversation-heading', tabindex: '0' });
  private readonly empty = el('p', { class: 'help posts-empty', hidden: true }, 'No posts yet. Write the first one below.');
  private readonly earlierButton = button('Earlier posts', () => void this.loadEarlier(), {
    class: 'secondary',
    hidden: true,
    'aria-controls': 'posts',
  });
  private readonly newerButton = button('Check for new posts', () => void this.loadLatest(true), {
    class: 'secondary',
    'aria-controls': 'posts',
  });
  private readonly text = el('textarea', {
    id: 'compose-text',
    name: 'text',
    rows: '3',
    'aria-describedby': 'compose-count',
    autocomplete: 'off',
  });
  private readonly counter = el('p', { id: 'compose-count', class: 'help counter' });
  private readonly send = el('button', { type: 'submit', class: 'primary' }, 'Send');
  /** Polite live region near the box: "Sent", refusals and failures are announced where the person is. */
  private readonly status = el('p', { id: 'conversation-status', class: 'status', role: 'status', 'aria-live': 'polite' });
  /** The key of the text in the box after a failed send: sending that same text again re-uses it. */
  private pending: { text: string; key: string } | undefined;
  private sending = false;

  constructor(
    private readonly api: ApiClient,
    readonly groupId: string,
  ) {
    const form = el(
      'form',
      { class: 'compose', novalidate: true },
      el('label', { id: 'compose-label', for: 'compose-text' }, 'Write a post'),
      this.text,
      el('div', { class: 'row compose-actions' }, this.counter, this.send),
      this.status,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    // Enter writes a new line (posts keep line breaks); Ctrl+Enter or Cmd+Enter sends.
    this.text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void this.submit();
      }
    });
    this.text.addEventListener('input', () => this.updateCounter());
    this.updateCounter();

    this.element = el(
      'section',
      { class: 'card conversation', 'aria-labelledby': 'conversation-heading', 'aria-busy': 'true' },
      el('h3', { id: 'conversation-heading' }, 'Conversation'),
      el('div', { class: 'row' }, this.earlierButton),
      this.list,
      this.empty,
      el('div', { class: 'row' }, this.newerButton),
      form,
    );
  }

  /** The newest page; `announce` says how many new posts came in (the "Check for new posts" button). */
  async loadLatest(announce = false): Promise<void> {
    this.newerButton.disabled = true;
    try {
      const before = this.posts.size;
      const page = await this.api.call<PostPage>('GET', `api/groups/${encodeURIComponent(this.groupId)}/posts`);
      // The first load decides where "Earlier posts" starts; later loads only add what is new.
      const first = !this.loaded;
      if (first) this.earlier = page.earlier;
      this.loaded = true;
      this.merge(page.posts);
      // The list scrolls on its own (so the invite stays near on a phone) and opens at the newest post.
      if (first || announce) this.list.scrollTop = this.list.scrollHeight;
      if (announce) {
        const added = this.posts.size - before;
        this.say(added === 0 ? 'No new posts.' : `${added} new ${added === 1 ? 'post' : 'posts'}.`);
      }
    } catch (err) {
      this.say(err instanceof ApiError ? err.message : 'The conversation could not be loaded. Please try again.', 'error');
    } finally {
      this.newerButton.disabled = false;
      this.element.removeAttribute('aria-busy');
    }
  }

  private async loadEarlier(): Promise<void> {
    if (this.earlier === undefined) return;
    this.earlierButton.disabled = true;
    const firstShown = this.list.firstElementChild;
    try {
      const page = await this.api.call<PostPage>('GET', `api/groups/${encodeURIComponent(this.groupId)}/posts?before=${this.earlier}`);
      this.earlier = page.earlier;
      this.merge(page.posts);
      this.say(`${page.posts.length} earlier ${page.posts.length === 1 ? 'post' : 'posts'} shown.`);
      // Keep the reader where they were: the post that was first before is still in view.
      if (firstShown instanceof HTMLElement) firstShown.scrollIntoView({ block: 'start' });
    } catch (err) {
      this.say(err instanceof ApiError ? err.message : 'Earlier posts could not be loaded. Please try again.', 'error');
    } finally {
      this.earlierButton.disabled = false;
      this.earlierButton.hidden = this.earlier === undefined;
      // A hidden button cannot keep focus: move it to the list, whose start is what the button loaded.
      if (this.earlierButton.hidden && document.activeElement === document.body) this.list.focus();
    }
  }

  private merge(posts: PostView[]): void {
    for (const post of posts) this.posts.set(post.seq, post);
    this.render();
  }

  private render(): void {
    const ordered = [...this.posts.values()].sort((a, b) => a.seq - b.seq);
    this.list.replaceChildren(...ordered.map((post) => this.renderPost(post)));
    this.list.hidden = ordered.length === 0;
    this.empty.hidden = ordered.length !== 0;
    this.earlierButton.hidden = this.earlier === undefined;
  }

  private renderPost(post: PostView): HTMLElement {
    const sender = post.deleted ? 'Deleted post' : post.sender.isYou ? `${post.sender.name || 'You'} (you)` : post.sender.name || 'Someone';
    const head = el(
      'p',
      { class: 'post-head' },
      el('strong', { class: 'post-sender' }, sender),
      ' ',
      el('time', { class: 'post-time meta', datetime: post.createdAt }, timeLabel(post.createdAt)),
      post.editedAt && !post.deleted ? el('span', { class: 'meta' }, ' (edited)') : undefined,
    );
    const reply = post.replyTo
      ? el(
          'p',
          { class: 'post-reply meta' },
          post.replyTo.deleted ? 'replying to a deleted post' : `replying to ${post.replyTo.senderName}: ${post.replyTo.preview}`,
        )
      : undefined;
    const body = post.deleted
      ? el('p', { class: 'post-text post-deleted' }, 'This post was deleted')
      : el('p', { class: 'post-text' }, post.text ?? '');
    const thread = post.threadNote ? el('p', { class: 'post-thread meta' }, post.threadNote) : undefined;
    return el('li', { class: 'post', 'data-seq': String(post.seq) }, head, thread, reply, body);
  }

  private updateCounter(): void {
    const length = postLength(this.text.value);
    const over = length > MAX_POST_CHARS;
    this.counter.textContent = over
      ? `${formatCount(length)} / ${formatCount(MAX_POST_CHARS)} characters: ${formatCount(length - MAX_POST_CHARS)} too many`
      : `${formatCount(length)} / ${formatCount(MAX_POST_CHARS)} characters`;
    this.counter.dataset.kind = over ? 'error' : 'info';
    if (over) this.text.setAttribute('aria-invalid', 'true');
    else this.text.removeAttribute('aria-invalid');
  }

  private async submit(): Promise<void> {
    if (this.sending) return;
    const text = this.text.value;
    const length = postLength(text);
    if (length === 0) {
      this.say('Type a message first.', 'error');
      this.text.focus();
      return;
    }
    if (length > MAX_POST_CHARS) {
      this.say(`Posts can be at most ${formatCount(MAX_POST_CHARS)} characters. Please shorten it.`, 'error');
      this.text.focus();
      return;
    }
    // Same text after a failure: the same message, so the same key (the first try may have arrived).
    const key = this.pending?.text === text ? this.pending.key : newIdempotencyKey();
    this.pending = { text, key };
    this.sending = true;
    this.send.disabled = true;
    this.say('Sending…');
    try {
      const { post } = await this.api.call<{ post?: PostView }>('POST', `api/groups/${encodeURIComponent(this.groupId)}/posts`, {
        body: { text },
        headers: { 'Idempotency-Key': key },
      });
      // A 2xx without a readable post: treat as not known to have arrived (the key makes a retry safe).
      if (!post || typeof post.seq !== 'number') throw new ApiError(0, SEND_FAILED);
      this.pending = undefined;
      // Only clear what was sent: text typed while sending stays.
      if (this.text.value === text) this.text.value = '';
      this.updateCounter();
      this.merge([post]);
      this.list.querySelector(`li[data-seq="${post.seq}"]`)?.scrollIntoView({ block: 'nearest' });
      this.say('Sent.', 'success');
    } catch (err) {
      this.say(this.sendFailure(err), 'error');
    } finally {
      this.sending = false;
      this.send.disabled = false;
      this.text.focus();
    }
  }

  private sendFailure(err: unknown): string {
    if (!(err instanceof ApiError)) return SEND_FAILED;
    switch (err.status) {
      case 0:
        return SEND_FAILED;
      case 403:
        return SEND_REFUSED_FORBIDDEN;
      case 429:
        return err.retryAfterSeconds !== undefined
          ? `You are posting too fast, wait a moment (about ${err.retryAfterSeconds} ${err.retryAfterSeconds === 1 ? 'second' : 'seconds'}) and send it again.`
          : SEND_TOO_FAST;
      case 400:
      case 401:
      case 404:
      case 413:
        // The server's own sentence says what to change (too long, group gone, nothing to post).
        return err.message;
      default:
        return SEND_FAILED;
    }
  }

  private say(message: string, kind: 'info' | 'success' | 'error' = 'info'): void {
    this.status.dataset.kind = kind;
    // Cleared first so that the same message twice ("Not sent. Try again.") is announced twice.
    this.status.textContent = '';
    window.setTimeout(() => {
      if (this.status.dataset.kind === kind) this.status.textContent = message;
    }, 30);
  }
}
