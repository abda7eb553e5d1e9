import type { PostSender } from '../groups/posts';
import type { UploadedFile } from './importService';
import type { PackedExport, PackedReader } from './packedExport';
import type { SenderChoices } from './senderMatch';

/*
 * An uploaded export between its preview and the admin's "Import N messages", and then the import job it
 * becomes. Kept in storage (not in one process's memory), so that the click may land on any instance sharing
 * the storage account, and a restart loses nothing; only the chat's own text is kept (not a zip's media),
 * compressed. An upload nobody confirms expires and is swept; a job is deleted once its import is done.
 */

export const PENDING_TTL_MS = 30 * 60 * 1000;

export interface PendingUpload {
  token: string;
  groupId: string;
  userId: string;
  /** The chat file (out of its zip when it came in one). */
  file: UploadedFile;
  timeZone: string;
  dateOrder?: 'day-first' | 'month-first';
  expiresAt: number;
}

/** What the admin confirmed: the import a crash resumes from. */
export interface ImportJobOrder {
  actor: PostSender;
  timeZone: string;
  dateOrder?: 'day-first' | 'month-first';
  senders: SenderChoices;
  /**
   * Where the admin is told when the import ends (a chat upload: their personal chat, opaque to the domain),
   * and the key that tells it once however often a resumed job ends. Absent: the tab follows the job itself.
   */
  report?: { to: string; key: string };
}

/** How far a job got (the tab's progress bar); `state` pending: not confirmed yet (or refused and back). */
export interface JobStatus {
  groupId: string;
  state: 'pending' | 'importing';
  written: number;
  total: number;
  /** Why the last Import was refused (the upload is waiting again). */
  refusal?: string;
}

export interface PendingUploadStore {
  /** Keeps the upload for PENDING_TTL_MS; returns the token the preview's buttons carry. */
  put(upload: Omit<PendingUpload, 'expiresAt' | 'token'>): Promise<string>;
  /** Only for the admin who uploaded it; undefined when expired, gone, or someone else's. */
  get(token: string, userId: string): Promise<PendingUpload | undefined>;
  update(token: string, change: Partial<Pick<PendingUpload, 'timeZone' | 'dateOrder'>>): Promise<void>;
  delete(token: string): Promise<void>;
  /** The admin confirmed: the upload becomes an open job (kept until done, whatever its expiry). */
  order(token: string, order: ImportJobOrder): Promise<void>;
  /** A refused job (bad input found at import time) goes back to a pending upload. */
  reopen(token: string, refusal?: string): Promise<void>;
  /** The order of an open job and its upload; the file itself is read only when asked for (`file()`). */
  job(token: string): Promise<{ upload: Omit<PendingUpload, 'file'>; order: ImportJobOrder; file(): Promise<UploadedFile> } | undefined>;
  /** Keeps the export as its latest preview read it, in place of an earlier one: Import reads it instead of the file. */
  keepPacked(token: string, packed: PackedExport): Promise<void>;
  /** The export kept by keepPacked, read one chunk at a time; undefined when none was kept. */
  packed(token: string): Promise<PackedReader | undefined>;
  status(token: string): Promise<JobStatus | undefined>;
  /** Open jobs (confirmed, not done), for each instance's sweep. */
  openJobs(): Promise<string[]>;
  /** Takes or renews the job's lease for `holder`: false when another instance holds it. */
  lease(token: string, holder: string, ms: number): Promise<boolean>;
  /**
   * The holder's lease renewed and its progress recorded in one write, conditional on nobody having changed the
   * job since this holder's last lease or renewal; false when the lease was lost (another instance took over).
   */
  renew(token: string, holder: string, ms: number, progress: { written: number; total: number }): Promise<boolean>;
  /** Deletes uploads past their expiry that are no job; how many. */
  sweep(): Promise<number>;
}
