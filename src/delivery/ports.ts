// src/delivery/ports.ts  (no botbuilder import; conversation references are opaque JSON here)
export interface Recipient {
  userId: string; // the member's user id as stored on the member row
  tenantId: string; // tenant of the recipient's conversation ('' when unknown) -> rate lane key
  conversationRef: unknown; // botbuilder ConversationReference of the member's personal chat, or undefined
  muted: boolean;
  joinedAt: string; // ISO time; a post is delivered only to members who joined at or before post.createdAt
  isAdmin?: boolean; // a group admin (receives hub-and-spoke threads: audience.ts)
}
export interface PostForDelivery {
  groupId: string;
  seq: number; // per-group sequence number, assigned in storage at acceptance
  senderUserId: string; // the sender gets no copy
  createdAt: string;
  deleted: boolean;
  version: number; // bumps on every edit and delete (engine re-renders copies whose version is older)
  onlyAdminsAnd?: string; // a hub-and-spoke thread: only the admins and this member get copies (audience.ts)
}
export interface FanoutSource {
  getPost(groupId: string, seq: number): Promise<PostForDelivery | undefined>;
  /** Members of the group in a stable order, paged; `after` is the opaque cursor from the previous page. */
  listRecipients(groupId: string, after: string | undefined, limit: number): Promise<{ recipients: Recipient[]; next?: string }>;
  /** Current state of one member (undefined = not a member any more: stop delivering at once). */
  getRecipient(groupId: string, userId: string): Promise<Recipient | undefined>;
}
/**
 * Builds the outgoing activity for one copy (the card); plain JSON activity. `atLeastVersion`: the engine has
 * seen this version of the post, so a render from anything older (a cached read) would be stale.
 */
export type RenderCopy = (
  groupId: string,
  seq: number,
  recipient: Recipient,
  atLeastVersion?: number,
) => Promise<Record<string, unknown> | undefined>;

export interface DeliveryEngine {
  /** After a post row is written (idempotent: calling twice changes nothing). */
  postAccepted(groupId: string, seq: number): Promise<void>;
  /** After an edit or delete of a post: update or delete every delivered copy; unsent copies go out latest. */
  postChanged(groupId: string, seq: number): Promise<void>;
  /** A member left / was removed / muted: stop delivering to them at once (engine re-checks getRecipient before each send anyway). */
  /** Organization groups: delete the copies already delivered to a removed member. */
  deleteCopiesFor(groupId: string, userId: string): Promise<void>;
  /** Admin notices and other one-off proactive messages go through the same budgets. */
  sendOneOff(key: string, recipient: Recipient, activity: Record<string, unknown>, options?: OneOffOptions): Promise<void>;
  /** How the one-offs whose keys start with `prefix` went: `sent`, `unreachable`, `failed`, or still `sending`. */
  oneOffOutcomes(prefix: string): Promise<Map<string, string>>;
  /** Unreachable members per group (403/404 from Teams), for Group Info. */
  unreachableCount(groupId: string): Promise<number>;
  /**
   * Members a group's posts did not reach, for Group Info: refused by Teams (403/404), and copies given up after
   * the channel failed them for long (the sweep keeps trying those).
   */
  notReachedCount?(groupId: string): Promise<{ unreachable: number; retrying: number }>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OneOffOptions {
  /**
   * The first message to a chat the bot has never delivered to (bulk add's welcome), for a member of this
   * group. Its failures are no evidence of a channel outage (see Lane.transientFailure), and a welcome that
   * fails for good counts the member as not reached in the group, as a refused copy would.
   */
  firstMessageFor?: { groupId: string };
}
