/**
 * Group types (issue 18): what the three settings "Members see each other", "Members' posts go to" and "Join
 * notices" mean, as pure functions. Every door (chat, copies, history, the tab's API, the members card) asks
 * these, never the settings themselves. Kaizala's model: admins see everything; in a group whose members do not
 * see each other, admins keep their names and members become "A member"; a hub-and-spoke group's member talks
 * to the admins only; with "Only admins can post" on as well, it is a broadcast group.
 */
import type { GroupPostSettings, JoinNoticeMode, Post, PostingContext, PostThread, ReplyTarget } from './posts';

/** How a member whose name is hidden from the viewer is shown. */
export const HIDDEN_MEMBER_NAME = 'A member';
/** Above this many members a group's admins get a daily digest of joins unless they chose otherwise. */
export const DIGEST_ABOVE_MEMBERS = 50;
/** What both sides of a hub-and-spoke thread see on its posts. */
export const THREAD_NOTE = 'Only you and the admins see this';

/** The group as these rules need it. */
export interface GroupTypeView {
  adminIds: readonly string[];
  settings: GroupPostSettings;
}

/** The join notices a group's admins get: as chosen, else each join up to 50 members and a digest above. */
export function joinNoticeMode(settings: Pick<GroupPostSettings, 'joinNotices'>, memberCount: number): JoinNoticeMode {
  return settings.joinNotices ?? (memberCount > DIGEST_ABOVE_MEMBERS ? 'digest' : 'each');
}

/** May this viewer see members' names (admins always; members when "Members see each other" is on)? */
export function seesMembers(group: GroupTypeView, viewerId: string): boolean {
  return group.settings.membersSeeEachOther || group.adminIds.includes(viewerId);
}

/** The name a viewer sees for a person: admins' names and one's own always, members' only when visible. */
export function shownName(group: GroupTypeView, viewerId: string, person: { id?: string; name: string }): string {
  if (seesMembers(group, viewerId)) return person.name;
  if (person.id !== undefined && (person.id === viewerId || group.adminIds.includes(person.id))) return person.name;
  return HIDDEN_MEMBER_NAME;
}

/** A post as this viewer may see it: the sender's and the answered sender's names under the rule above. */
export function postAsSeenBy<P extends Pick<Post, 'sender' | 'replyTo'>>(group: GroupTypeView, viewerId: string, post: P): P {
  if (seesMembers(group, viewerId)) return post;
  const senderName = shownName(group, viewerId, { id: post.sender.userId, name: post.sender.name });
  const replyTo: ReplyTarget | undefined = post.replyTo && {
    ...post.replyTo,
    // A deleted answered post names no one (issue 17), hidden or not.
    senderName: post.replyTo.deleted ? '' : shownName(group, viewerId, { id: post.replyTo.senderId, name: post.replyTo.senderName }),
  };
  return { ...post, sender: { ...post.sender, name: senderName }, ...(replyTo ? { replyTo } : {}) };
}

/**
 * The thread a new post belongs to (undefined: everyone sees it). A member's post in a hub-and-spoke group is
 * their thread with the admins; a reply stays in the thread of the post it answers; an admin's new post reaches
 * everyone.
 */
export function threadOfNewPost(
  context: PostingContext & { member: { userId: string; name: string } },
  answered?: Pick<Post, 'thread'>,
): PostThread | undefined {
  if (answered?.thread) return answered.thread;
  const { member } = context;
  if (context.adminIds.includes(member.userId) || context.settings.memberPostsTo !== 'admins') return undefined;
  return { userId: member.userId, name: member.name };
}

/** The line on a hub-and-spoke thread's posts: its member reads the words as they are; admins learn whose it is. */
export function threadNote(thread: PostThread, viewerId: string): string {
  return thread.userId === viewerId ? THREAD_NOTE : `${THREAD_NOTE} (with ${thread.name || HIDDEN_MEMBER_NAME})`;
}
