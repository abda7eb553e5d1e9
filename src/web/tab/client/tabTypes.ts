/* What the tab reads from the API (the shapes are src/web/apiViews.ts), and the labels it shows for it. Browser code. */

import type { GroupSummary } from '../../apiViews';

export type { GroupDetail, GroupSummary, InviteView } from '../../apiViews';

export interface DocumentLinks {
  posterUrl: string;
  introPosterUrl: string;
  emailFileUrl: string;
  mailtoUrl: string;
  expiresAt: string;
}

export function members(count: number): string {
  return `${count} ${count === 1 ? 'member' : 'members'}`;
}

export function statusLabel(group: Pick<GroupSummary, 'status' | 'organizationName'>): string {
  return group.status === 'organization' ? `Organization: ${group.organizationName ?? 'yes'}` : 'Private group';
}
