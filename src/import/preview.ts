import type { DateOrder, ExportSource, ImportedMessage, ParsedExport } from './model';
import { matchSender, type MemberName, type SenderMatch } from './senderMatch';

/*
 * What an admin sees before anything is stored: a pure function of the parsed export, the group's members and
 * its retention. What would be imported: people's messages, and media lines as a note naming the file; system
 * lines and deleted-message lines are counted and skipped.
 */

export interface SenderSummary {
  name: string;
  messages: number;
  /** A suggestion by name; the admin confirms it. */
  match?: SenderMatch;
}

export interface ImportPreview {
  source: ExportSource;
  fileName: string;
  contentHash: string;
  /** Every message line found, of every kind. */
  found: number;
  /** What "Import N messages" would store (text and media notes), before retention. */
  importable: number;
  system: number;
  media: number;
  deleted: number;
  first?: string;
  last?: string;
  senders: SenderSummary[];
  dateOrder: DateOrder;
  timeZone: string;
  /** Of the importable ones, how many the group's retention would keep now (all when there is none). */
  keptByRetention: number;
}

export function isImportable(message: ImportedMessage): boolean {
  return message.kind === 'text' || message.kind === 'media';
}

export function previewOf(parsed: ParsedExport, members: readonly MemberName[], retention: { cutoff?: string } = {}): ImportPreview {
  const counts = { text: 0, system: 0, media: 0, deleted: 0 };
  const bySender = new Map<string, number>();
  let keptByRetention = 0;
  for (const m of parsed.messages) {
    counts[m.kind]++;
    if (m.sender !== '') bySender.set(m.sender, (bySender.get(m.sender) ?? 0) + 1);
    if (isImportable(m) && (retention.cutoff === undefined || m.at >= retention.cutoff)) keptByRetention++;
  }
  const senders = [...bySender]
    .map(([name, messages]): SenderSummary => {
      const match = matchSender(name, members);
      return match ? { name, messages, match } : { name, messages };
    })
    .sort((a, b) => b.messages - a.messages || a.name.localeCompare(b.name));
  return {
    source: parsed.source,
    fileName: parsed.fileName,
    contentHash: parsed.contentHash,
    found: parsed.messages.length,
    importable: counts.text + counts.media,
    system: counts.system,
    media: counts.media,
    deleted: counts.deleted,
    first: parsed.messages[0]?.at,
    last: parsed.messages.at(-1)?.at,
    senders,
    dateOrder: parsed.dateOrder,
    timeZone: parsed.timeZone,
    keptByRetention,
  };
}
