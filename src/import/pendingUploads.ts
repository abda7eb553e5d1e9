import { randomBytes } from 'node:crypto';
import type { UploadedFile } from './importService';

/*
 * An uploaded export between its preview and the admin's "Import N messages". Kept in this process's memory
 * for a while, not in storage: a file of up to 50 MB does not belong in a card's data or a table row, and an
 * upload nobody confirms should leave nothing behind. The price: with several instances, the click may land on
 * another one, which answers "send the file again" (the same file is never imported twice).
 */

export const PENDING_TTL_MS = 30 * 60 * 1000;
/** Uploads held at once, and their bytes together (20 exports of 50 MB would be 1 GB); the oldest goes first. */
const MAX_PENDING = 20;
export const MAX_PENDING_BYTES = 150 * 1024 * 1024;

export interface PendingUpload {
  groupId: string;
  userId: string;
  file: UploadedFile;
  timeZone: string;
  dateOrder?: 'day-first' | 'month-first';
  expiresAt: number;
}

export class PendingUploads {
  private readonly uploads = new Map<string, PendingUpload>();

  constructor(private readonly now: () => number = Date.now) {}

  put(upload: Omit<PendingUpload, 'expiresAt'>): string {
    this.prune();
    const held = () => [...this.uploads.values()].reduce((sum, u) => sum + u.file.bytes.length, 0);
    while (this.uploads.size > 0 && (this.uploads.size >= MAX_PENDING || held() + upload.file.bytes.length > MAX_PENDING_BYTES)) {
      this.uploads.delete(this.uploads.keys().next().value!);
    }
    const token = randomBytes(12).toString('base64url');
    this.uploads.set(token, { ...upload, expiresAt: this.now() + PENDING_TTL_MS });
    return token;
  }

  /** Only for the admin who uploaded it. */
  get(token: string, userId: string): PendingUpload | undefined {
    this.prune();
    const upload = this.uploads.get(token);
    return upload?.userId === userId ? upload : undefined;
  }

  update(token: string, change: Partial<Pick<PendingUpload, 'timeZone' | 'dateOrder'>>): void {
    const upload = this.uploads.get(token);
    if (upload) this.uploads.set(token, { ...upload, ...change });
  }

  delete(token: string): void {
    this.uploads.delete(token);
  }

  private prune(): void {
    const now = this.now();
    for (const [token, upload] of this.uploads) if (upload.expiresAt <= now) this.uploads.delete(token);
  }
}
