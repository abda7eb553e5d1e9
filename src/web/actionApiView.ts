/*
 * The shape of an announcement or a poll in the actions API (src/web/actionsApi.ts), shared with the tab's
 * browser code (src/web/tab/client/actionsPanel.ts) as a type only. No imports: plain data.
 */

/** What the tab shows of an announcement or a poll . */
export interface ActionApiView {
  id: string;
  kind: 'announcement' | 'poll';
  title: string;
  text?: string;
  options?: readonly string[];
  anonymous?: boolean;
  createdAt: string;
  senderName: string;
  open: boolean;
  answeredAt?: string;
  results?: { counts: readonly number[]; answered: number };
  memberCount?: number;
  /** Admins and the creator: the CSV report's signed link. */
  reportUrl?: string;
}
