import type { UserRef } from '../groups/model';
import type { ExportSource, ImportedMessage } from './model';

/** One import of a group: who, from what, and how far it got. */
export interface ImportRecord {
  groupId: string;
  /** Derived from the group and the content hash: the same file is the same import. */
  importId: string;
  source: ExportSource;
  fileName: string;
  contentHash: string;
  by: UserRef;
  startedAt: string;
  /** running: rows may be partly written (a crash); done: every row written and the group told. */
  state: 'running' | 'done';
  count: number;
  first?: string;
  last?: string;
}

/** An imported message as history reads it. */
export interface StoredImport extends ImportedMessage {
  importId: string;
  /** Its place in the export (after sorting): with the import id, its identity. */
  index: number;
  source: ExportSource;
  /**
   * The current member the admin confirmed this sender is (at import time). Absent: the sender is only the
   * name the export had, shown marked imported, never taken for a member.
   */
  member?: { userId: string; name: string };
}

/** Rows written so far of the total; a rejection stops the import (its lease was lost). */
export type ImportProgress = (written: number, total: number) => Promise<void>;

export type BeginOutcome =
  | { kind: 'started'; record: ImportRecord }
  /** The same file, left running by a crash: its rows are written again (idempotent) and it finishes. */
  | { kind: 'resume'; record: ImportRecord }
  | { kind: 'duplicate'; record: ImportRecord }
  | { kind: 'busy'; running: ImportRecord };

export interface ImportedPage {
  /** Oldest first. */
  messages: StoredImport[];
  /** Pass as `before` for the previous page; absent at the oldest. */
  earlier?: string;
}

/**
 * What the import needs from storage. Contract:
 * - `begin` claims the group's one import slot and the content hash together; the same hash again is a
 *   duplicate (done) or a resume (running); another import while one runs is busy.
 * - `write` is idempotent per (import, index, time); a resumed import clears what it wrote before, so each
 *   message is stored once even when the admin changed the time zone in between.
 * - `finish` marks the import done and frees the slot; `remove` deletes an import's messages and records.
 * - `page` reads newest first from `before`, at most `pageSize`, only messages at or after `visibleFrom`.
 */
export interface ImportStore {
  begin(record: ImportRecord): Promise<BeginOutcome>;
  /** Calls `progress` after each batch written (a job renews its lease and tells the tab how far it got). */
  write(groupId: string, messages: readonly StoredImport[], progress?: ImportProgress): Promise<void>;
  /** A resumed import's rows from before the crash (read with other settings, their keys may differ). */
  clear(groupId: string, importId: string): Promise<void>;
  finish(groupId: string, importId: string, summary: Pick<ImportRecord, 'count' | 'first' | 'last'>): Promise<ImportRecord>;
  list(groupId: string): Promise<ImportRecord[]>;
  remove(groupId: string, importId: string): Promise<number>;
  page(groupId: string, options: { before?: string; pageSize: number; visibleFrom?: string }): Promise<ImportedPage>;
  /** Every imported message of the group, oldest first (the organization admin's export). */
  all(groupId: string): AsyncIterable<StoredImport>;
  /** Retention by original time: every imported message before `cutoff`, in every group; how many went. */
  deleteOlderThan(cutoff: string): Promise<number>;
}
