import type { PostForDelivery, Recipient } from './ports';

/**
 * Who gets a copy of a post (the engine's fan-out asks this for each member): never its sender, nobody muted,
 * nobody who joined after it; a hub-and-spoke thread (issue 18: `onlyAdminsAnd`) reaches the group's admins
 * and that one member only. Pure: the store fills the fields it reads.
 */
export function receivesCopy(
  post: Pick<PostForDelivery, 'senderUserId' | 'createdAt' | 'onlyAdminsAnd'>,
  recipient: Pick<Recipient, 'userId' | 'muted' | 'joinedAt' | 'isAdmin'>,
): boolean {
  if (recipient.userId === post.senderUserId || recipient.muted || recipient.joinedAt > post.createdAt) return false;
  if (post.onlyAdminsAnd === undefined) return true;
  return recipient.isAdmin === true || recipient.userId === post.onlyAdminsAnd;
}
