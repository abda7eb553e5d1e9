/*
 * The shape of a post in the posts API's answers (src/web/postsApi.ts), shared with the tab's browser code
 * (src/web/tab/client/conversation.ts), which imports it as a type only, so the bundle gets nothing from here.
 * No imports: it must stay plain data.
 */

/** The tab's view of a post. Deleted posts keep their place (and sequence number) without their text. */
export interface PostView {
  seq: number;
  sender: { name: string; isYou: boolean };
  text?: string;
  createdAt: string;
  editedAt?: string;
  deleted: boolean;
  /** `deleted`: the answered post was deleted (name and preview empty): "replying to a deleted post". */
  replyTo?: { seq: number; senderName: string; preview: string; deleted?: boolean };
  /** A hub-and-spoke thread's post (group types): "Only you and the admins see this", as the viewer reads it. */
  threadNote?: string;
  /** An announcement or a poll (issue 19): its id for /api/groups/:id/actions; `text` is its summary. */
  action?: { kind: 'announcement' | 'poll'; id: string };
}
