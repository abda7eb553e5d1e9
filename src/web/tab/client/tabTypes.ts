/* What the tab reads from the API (mirror src/web/api.ts), and the labels it shows for it. Browser code. */

export interface GroupSummary {
  id: string;
  name: string;
  memberCount: number;
  role: 'admin' | 'member';
  status: 'private' | 'organization';
  organizationName?: string;
  photoUrl?: string;
}

export interface InviteView {
  url: string;
  joinCode: string;
  qrDataUrl: string;
}

export interface GroupDetail {
  group: Omit<GroupSummary, 'role'> & { createdAt: string };
  viewerIsAdmin: boolean;
  invite: InviteView;
  admins: Array<{ name: string; isYou: boolean }>;
}

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
