/**
 * The questions issue 17 added, as data for the one confirmation card (confirmation.ts): removing a member and
 * deleting a post ask first, as leaving and resetting the link do.
 */
import type { ConfirmationCardData, GroupRef } from './confirmation';

export function removeConfirmation(g: GroupRef & { userId: string; memberName: string }): ConfirmationCardData {
  return {
    title: ['Remove ', g.memberName, ' from ', g.groupName, '?'],
    message: [
      { emphasis: g.memberName },
      ' stops getting the group’s posts, is told an admin removed them, and cannot rejoin with any link or code until an admin lets them back in.',
    ],
    confirmTitle: 'Remove',
    confirmVerb: 'confirmRemove',
    data: { groupId: g.groupId, userId: g.userId },
    destructive: true,
  };
}

export function deletePostConfirmation(g: GroupRef & { seq: number; senderName: string; preview: string }): ConfirmationCardData {
  return {
    title: ['Delete this post for everyone?'],
    message: [
      { emphasis: g.senderName },
      ' in ',
      { emphasis: g.groupName },
      ': “',
      { emphasis: g.preview },
      '”. Every member’s copy is deleted. This cannot be undone.',
    ],
    confirmTitle: 'Delete post',
    confirmVerb: 'confirmDeletePost',
    data: { groupId: g.groupId, seq: g.seq },
    destructive: true,
  };
}
