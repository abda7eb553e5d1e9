/*
 * The shapes of the tab API's answers about groups (src/web/api.ts), shared with the tab's browser code
 * (src/web/tab/client/tabTypes.ts), which imports them as types only, so the bundle gets nothing from here.
 * No imports: it must stay plain data.
 */

/** One of the caller's groups, as the tab lists it. */
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
  /** `data:image/png;base64,…` (the CSP allows data: images). */
  qrDataUrl: string;
}

export interface GroupDetail {
  group: Omit<GroupSummary, 'role'> & { createdAt: string; mappedAt?: string };
  viewerIsAdmin: boolean;
  invite: InviteView;
  admins: Array<{ name: string; isYou: boolean }>;
}
