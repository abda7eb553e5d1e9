import { parseString, type Message } from 'whatsapp-chat-parser';
import { InvalidInputError } from '../errors';
import { NOT_AN_EXPORT, type DateOrder, type ImportedKind, type ImportedMessage } from './model';
import { instantOf } from './timeZone';

/*
 * WhatsApp's "Export chat" text, read by whatsapp-chat-parser (MIT; its locale formats, hidden characters and
 * day-or-month inference are the reason to keep it rather than write one), wrapped for what it leaves to us:
 * - the time zone: it builds dates in the server's zone; its wall clock is read back and placed in the
 *   importer's zone (the export names none);
 * - what a line is: system lines (no author on Android; on iOS the group's name as author and a U+200E before
 *   the text), media (attachments, "<Media omitted>", "image omitted"), deleted messages;
 * - the names: iOS marks non-contacts "~ Name"; hidden direction marks and odd spaces go;
 * - the order: lines are not always in time order in an export; messages are sorted, stably.
 */

const LRM = '\u200e';
const HIDDEN = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** "Without media" exports: Android writes one marker, iOS one per type (English and German here). */
const MEDIA_OMITTED =
  /^(?:<Media omitted>|<Medien ausgeschlossen>|(?:image|video|audio|document|GIF|sticker|Contact card) omitted|(?:Bild|Video|Audio|Dokument|GIF|Sticker) weggelassen)$/i;
const ATTACHED = /<attached: [^>]+>|\((?:file attached|Datei angehängt|archivo adjunto)\)$/i;
const DELETED =
  /^(?:This message was deleted|You deleted this message|Diese Nachricht wurde gelöscht|Du hast diese Nachricht gelöscht)\.?$/i;
/** iOS system lines carry the group's name as author; their text says what happened. */
const SYSTEM_TEXT = /^(?:Messages and calls are end-to-end encrypted|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt)/i;

export interface WhatsAppOptions {
  timeZone: string;
  /** The admin's correction of the detected date order; year-first dates ignore it (they are unambiguous). */
  dateOrder?: 'day-first' | 'month-first';
}

export function parseWhatsApp(text: string, options: WhatsAppOptions): { messages: ImportedMessage[]; dateOrder: DateOrder } {
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  // A file whose first line starts no message is not an export (the parser would drop the line silently).
  if (parseString(firstLine).length !== 1) throw new InvalidInputError(NOT_AN_EXPORT);
  const yearFirst = /^\s*\u200e?\[?\s*\d{4}[-/.]/.test(firstLine);
  // The order the dates themselves prove (a first number over 12 is a day), read in one pass over the line
  // starts: then the parser is told it, and reads the text once instead of three times (40,000 lines).
  const proven = yearFirst || options.dateOrder ? undefined : provenOrder(text);
  const chosen = options.dateOrder ?? proven;
  const daysFirst = yearFirst || !chosen ? undefined : chosen === 'day-first';
  const parsed = parseString(text, { parseAttachments: true, daysFirst });
  if (parsed.length === 0) throw new InvalidInputError(NOT_AN_EXPORT);
  const dateOrder: DateOrder = yearFirst ? 'year-first' : (chosen ?? detectOrder(text, parsed));
  const messages = parsed.map((m) => toMessage(m, options.timeZone));
  messages.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { messages, dateOrder };
}

const LINE_DATE = /^[\u200e\s]*\[?(\d{1,2})[-/.]\s?(\d{1,2})[-/.]\s?\d{2,4}[,.]?\s/gm;

/** Day first when some date's first number is over 12, month first when its second is; undefined when none is. */
function provenOrder(text: string): 'day-first' | 'month-first' | undefined {
  for (const match of text.matchAll(LINE_DATE)) {
    if (Number(match[1]) > 12) return 'day-first';
    if (Number(match[2]) > 12) return 'month-first';
  }
  return undefined;
}

/** Which reading the parser's inference chose: the dates equal the day-first reading, the month-first one, or both. */
function detectOrder(text: string, auto: Message[]): DateOrder {
  const same = (other: Message[]) => other.length === auto.length && other.every((m, i) => m.date.getTime() === auto[i]!.date.getTime());
  const dayFirst = same(parseString(text, { daysFirst: true }));
  const monthFirst = same(parseString(text, { daysFirst: false }));
  if (dayFirst && monthFirst) return 'either';
  return dayFirst ? 'day-first' : 'month-first';
}

function toMessage(m: Message, timeZone: string): ImportedMessage {
  // The parser's Date is the wall clock in this process's zone: read it back as a wall clock.
  const d = m.date;
  const at = instantOf(
    {
      year: d.getFullYear(),
      month: d.getMonth() + 1,
      day: d.getDate(),
      hour: d.getHours(),
      minute: d.getMinutes(),
      second: d.getSeconds(),
    },
    timeZone,
  ).toISOString();
  const raw = m.message.replace(/\r\n?/g, '\n');
  const text = raw.replace(HIDDEN, '').trim();
  const sender = cleanName(m.author ?? '');
  const kind = kindOf(m, raw, text);
  const message: ImportedMessage = { at, sender: kind === 'system' ? '' : sender, text, kind };
  if (m.attachment?.fileName) message.fileName = m.attachment.fileName.replace(HIDDEN, '');
  return message;
}

function kindOf(m: Message, raw: string, text: string): ImportedKind {
  if (m.author === null) return 'system';
  if (m.attachment || MEDIA_OMITTED.test(text) || ATTACHED.test(text)) return 'media';
  if (DELETED.test(text)) return 'deleted';
  if (raw.startsWith(LRM) || SYSTEM_TEXT.test(text)) return 'system';
  return 'text';
}

/** "~ Ann" (an iOS non-contact), direction marks and no-break spaces: the name as people would type it. */
export function cleanName(name: string): string {
  return name
    .replace(HIDDEN, '')
    .replace(/[\u00a0\u202f]/g, ' ')
    .replace(/^~\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
}
