import type { FanoutSource, PostForDelivery, Recipient, RenderCopy } from '../../src/delivery/ports';

/**
 * An in-memory group for the delivery engine's tests and bench: members in user id order (the order the real
 * member rows have), posts by sequence number. Tests change it between and during fan-outs (mute, leave, edit).
 */
export class MemoryFanout implements FanoutSource {
  readonly members = new Map<string, Map<string, Recipient>>();
  readonly posts = new Map<string, PostForDelivery & { text: string }>();
  /** getRecipient calls (each would be a table read). */
  recipientReads = 0;

  addMember(groupId: string, recipient: Recipient): void {
    let group = this.members.get(groupId);
    if (!group) this.members.set(groupId, (group = new Map()));
    group.set(recipient.userId, recipient);
  }

  removeMember(groupId: string, userId: string): void {
    this.members.get(groupId)?.delete(userId);
  }

  addPost(post: Omit<PostForDelivery, 'deleted' | 'version' | 'createdAt'> & { text: string; createdAt?: string }): PostForDelivery {
    const full = { deleted: false, version: 1, createdAt: new Date().toISOString(), ...post };
    this.posts.set(`${post.groupId}|${post.seq}`, full);
    return full;
  }

  editPost(groupId: string, seq: number, change: Partial<PostForDelivery & { text: string }>): void {
    const post = this.posts.get(`${groupId}|${seq}`)!;
    Object.assign(post, change, { version: post.version + 1 });
  }

  async getPost(groupId: string, seq: number): Promise<PostForDelivery | undefined> {
    const post = this.posts.get(`${groupId}|${seq}`);
    return post ? { ...post } : undefined;
  }

  async listRecipients(groupId: string, after: string | undefined, limit: number): Promise<{ recipients: Recipient[]; next?: string }> {
    const all = [...(this.members.get(groupId)?.values() ?? [])].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const start = after === undefined ? 0 : all.findIndex((r) => r.userId > after);
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const more = start >= 0 && start + limit < all.length;
    return { recipients: page.map((r) => ({ ...r })), next: more ? page[page.length - 1]!.userId : undefined };
  }

  async getRecipient(groupId: string, userId: string): Promise<Recipient | undefined> {
    this.recipientReads++;
    const r = this.members.get(groupId)?.get(userId);
    return r ? { ...r } : undefined;
  }

  /** A plain text copy: "<group>#<seq> v<version>: <text>". */
  render: RenderCopy = async (groupId, seq) => {
    const post = this.posts.get(`${groupId}|${seq}`);
    if (!post) return undefined;
    return { type: 'message', text: `${groupId}#${seq} v${post.version}: ${post.text}` };
  };
}
