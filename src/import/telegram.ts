import { z } from 'zod';
import { InvalidInputError } from '../errors';
import { NOT_AN_EXPORT, type ImportedMessage } from './model';
import { instantOf } from './timeZone';

/*
 * Telegram Desktop's chat export (`result.json`, "Machine-readable JSON"), checked by a schema of only the fields
 * used here (the format has many more; unknown ones pass). Its `text` is a string when plain, otherwise an
 * array of strings and entity objects, whose `text` is the visible part: formatting is dropped, the words kept.
 */

const textPart = z.union([z.string(), z.object({ type: z.string().optional(), text: z.string() })]);
const telegramText = z.union([z.string(), z.array(textPart)]);

const messageSchema = z.object({
  id: z.number(),
  type: z.string(),
  date: z.string(),
  date_unixtime: z.string().optional(),
  from: z.string().nullable().optional(),
  actor: z.string().nullable().optional(),
  action: z.string().optional(),
  title: z.string().optional(),
  members: z.array(z.string().nullable()).optional(),
  text: telegramText.optional(),
  reply_to_message_id: z.number().optional(),
  photo: z.string().optional(),
  file: z.string().optional(),
  file_name: z.string().optional(),
  media_type: z.string().optional(),
  poll: z.object({ question: z.string() }).optional(),
});

const exportSchema = z.object({
  name: z.string().optional(),
  type: z.string(),
  messages: z.array(messageSchema),
});

type TelegramMessage = z.infer<typeof messageSchema>;

export function looksLikeTelegram(text: string): boolean {
  return /^\s*\{/.test(text);
}

export function parseTelegram(text: string, timeZone: string): { messages: ImportedMessage[]; chatName?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidInputError(NOT_AN_EXPORT);
  }
  const parsed = exportSchema.safeParse(json);
  if (!parsed.success) throw new InvalidInputError(NOT_AN_EXPORT);
  const byId = new Map<number, ImportedMessage>();
  const messages: ImportedMessage[] = [];
  for (const m of parsed.data.messages) {
    const message = toMessage(m, timeZone);
    if (m.reply_to_message_id !== undefined) {
      const answered = byId.get(m.reply_to_message_id);
      if (answered) message.replyTo = { sender: answered.sender, preview: answered.text.slice(0, 80) };
    }
    byId.set(m.id, message);
    messages.push(message);
  }
  messages.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { messages, chatName: parsed.data.name };
}

export function plainText(text: TelegramMessage['text']): string {
  if (text === undefined) return '';
  if (typeof text === 'string') return text;
  return text.map((part) => (typeof part === 'string' ? part : part.text)).join('');
}

function toMessage(m: TelegramMessage, timeZone: string): ImportedMessage {
  const at = instantOfTelegram(m, timeZone);
  const words = plainText(m.text).trim();
  if (m.type === 'service') return { at, sender: '', text: serviceText(m), kind: 'system' };
  const sender = (m.from ?? '').trim() || 'Deleted Account';
  const file = m.photo ?? m.file;
  if (file !== undefined || m.media_type !== undefined) {
    // "(File not included. ...)" is what Telegram writes when media was not exported: no name to keep.
    const fileName = m.file_name ?? (file && !file.startsWith('(') ? file.split('/').pop() : undefined);
    const message: ImportedMessage = { at, sender, text: words, kind: 'media' };
    if (fileName) message.fileName = fileName;
    return message;
  }
  if (m.poll) return { at, sender, text: `Poll: ${m.poll.question}`, kind: 'text' };
  return { at, sender, text: words, kind: 'text' };
}

/** date_unixtime is the instant; older exports have only `date`, the exporting computer's wall clock. */
function instantOfTelegram(m: TelegramMessage, timeZone: string): string {
  if (m.date_unixtime && /^\d+$/.test(m.date_unixtime)) return new Date(Number(m.date_unixtime) * 1000).toISOString();
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(m.date);
  if (!match) throw new InvalidInputError(NOT_AN_EXPORT);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return instantOf({ year, month, day, hour, minute, second }, timeZone).toISOString();
}

const ACTIONS: Record<string, string> = {
  create_group: 'created the group',
  invite_members: 'added',
  remove_members: 'removed',
  join_group_by_link: 'joined by link',
  pin_message: 'pinned a message',
  edit_group_title: 'changed the group name to',
  edit_group_photo: 'changed the group photo',
  phone_call: 'called',
  group_call: 'started a call',
  migrate_to_supergroup: 'turned the group into a supergroup',
};

function serviceText(m: TelegramMessage): string {
  const actor = (m.actor ?? '').trim() || 'Someone';
  const what = ACTIONS[m.action ?? ''] ?? (m.action ?? 'did something').replace(/_/g, ' ');
  const members = (m.members ?? []).filter((n): n is string => Boolean(n)).join(', ');
  const object = m.action === 'edit_group_title' || m.action === 'create_group' ? (m.title ? `"${m.title}"` : '') : members;
  return [actor, what, object].filter(Boolean).join(' ');
}
