/**
 * What an imported chat is made of, whichever app it came from. Plain data; no Teams, no storage.
 */

export type ExportSource = 'whatsapp' | 'telegram';

/** text: something a person wrote; system: the app's own line; media: an attachment (not imported); deleted: "This message was deleted". */
export type ImportedKind = 'text' | 'system' | 'media' | 'deleted';

export interface ImportedMessage {
  /** The original time as an ISO instant (UTC). WhatsApp has no zone in its export: the importer's zone is applied. */
  at: string;
  /** The name the other app showed: never a verified identity. Empty for a system line without an author. */
  sender: string;
  text: string;
  kind: ImportedKind;
  /** The attachment's file name when the line named one (the file itself is not imported). */
  fileName?: string;
  /** What the message answered (Telegram's replies), copied when the export says. */
  replyTo?: { sender: string; preview: string };
}

/**
 * How the export wrote its dates: day-first (20.12.23), month-first (12/20/23), year-first (2023-12-20, and
 * Telegram's ISO dates), or `either` when every date reads the same both ways (1/1/24 only).
 */
export type DateOrder = 'day-first' | 'month-first' | 'year-first' | 'either';

export interface ParsedExport {
  source: ExportSource;
  /** In original time order (an export's lines are not always in order). */
  messages: ImportedMessage[];
  dateOrder: DateOrder;
  /** The IANA zone the export's wall-clock times were read in. */
  timeZone: string;
  /** The file the chat came from, inside a zip when it was one. */
  fileName: string;
  /** sha256 of the chat's text: the same export uploaded twice is imported once. */
  contentHash: string;
}

export const NOT_AN_EXPORT = 'This does not look like a WhatsApp or Telegram export.';
