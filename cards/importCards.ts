import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, plural, richHeading } from './layout';
import { localDate, localDateTime } from './localTime';
import { postTextBlocks } from './post';
import { adaptiveCard, toAttachment, type CardAction, type CardElement, type Container } from './schema';
import { inline, richText, run } from './text';

/*
 * The cards of importing a chat export (issue 20): the preview with its Import button, a page of imported
 * history, and the list of a group's imports with Undo. Everything from the export is user text: names and
 * messages go into TextRuns (never Markdown), times into TextBlocks of their own (the reader's zone).
 */

/** Like live history: each message's start, so that 20 fit in a card. */
const IMPORTED_MESSAGE_CHARS = 500;
const SENDERS_SHOWN = 12;
/** The choice that matches a sender to nobody: the export's name, marked imported. */
export const KEEP_IMPORTED_NAME = 'imported';

export interface ImportPreviewCardData {
  groupName: string;
  /** The pending upload the buttons name. */
  token: string;
  sourceName: string;
  fileName: string;
  found: number;
  importable: number;
  system: number;
  media: number;
  deleted: number;
  first?: string;
  last?: string;
  /**
   * The export's senders, most messages first. `choices`: the members the admin may match this sender to;
   * `matchUserId`: the suggestion, selected to begin with (the admin confirms it by importing, or changes it).
   */
  senders: ReadonlyArray<{
    name: string;
    messages: number;
    matchName?: string;
    matchUserId?: string;
    choices?: ReadonlyArray<{ userId: string; name: string }>;
  }>;
  dateOrder: 'day-first' | 'month-first' | 'year-first' | 'either';
  timeZone: string;
  /** Present when the deployment deletes posts after a number of days. */
  keptByRetention?: number;
}

const ORDER_WORDS: Record<ImportPreviewCardData['dateOrder'], string> = {
  'day-first': 'day first (20.12.23)',
  'month-first': 'month first (12/20/23)',
  'year-first': 'year first (2023-12-20)',
  either: 'the same either way',
};

function line(label: string, value: string): CardElement {
  return richText([run(`${label}: `, { weight: 'Bolder' }), value], { spacing: 'None' });
}

export function buildImportPreviewCard(d: ImportPreviewCardData): Attachment {
  const body: CardElement[] = [
    richHeading(d.groupName),
    paragraph(`Import earlier messages from ${d.sourceName}: preview. Nothing is stored until you choose Import.`, {
      isSubtle: true,
      spacing: 'None',
    }),
    richText([run('Exported chat: ', { weight: 'Bolder' }), run(d.fileName, {}, 120)]),
    line('Messages found', d.found.toLocaleString('en-US')),
    line('To import', `${d.importable.toLocaleString('en-US')} (media listed by file name, not imported)`),
    line('Skipped', `${plural(d.system, 'system line')}, ${plural(d.deleted, 'deleted message')}`),
  ];
  if (d.keptByRetention !== undefined) body.push(line("Kept by this deployment's retention", d.keptByRetention.toLocaleString('en-US')));
  if (d.first && d.last)
    body.push({ type: 'TextBlock', text: `From ${localDate(d.first)} to ${localDate(d.last)}`, wrap: true, spacing: 'Small' });
  body.push(line('Dates read', ORDER_WORDS[d.dateOrder]), line('Time zone of the export', d.timeZone));
  body.push(
    richText([run('Senders', { weight: 'Bolder' })], { spacing: 'Medium' }),
    paragraph('A member with the same name is only a suggestion: imported messages keep the name from the export, marked imported.', {
      isSubtle: true,
      size: 'Small',
      spacing: 'None',
    }),
  );
  const shownSenders = d.senders.slice(0, SENDERS_SHOWN);
  shownSenders.forEach((s, i) => body.push(...senderRow(s, i)));
  if (d.senders.length > SENDERS_SHOWN)
    body.push(
      paragraph(`and ${d.senders.length - SENDERS_SHOWN} more, kept under their imported names`, { isSubtle: true, spacing: 'None' }),
    );
  body.push({
    type: 'Input.Text',
    id: 'timeZone',
    label: 'Time zone the export was made in (WhatsApp writes none)',
    value: d.timeZone,
    maxLength: 64,
  });
  const actions: CardAction[] = [
    button(
      `Import ${plural(d.importable, 'message')}`,
      'importConfirm',
      // Which sender each choice (sender0, sender1, ...) is about: flat data, as every button's.
      Object.fromEntries([['token', d.token], ...shownSenders.flatMap((s, i) => (s.choices?.length ? [[`name${i}`, s.name]] : []))]),
      { style: 'positive' },
    ),
    button('Preview again', 'importPreview', { token: d.token }),
  ];
  if (d.dateOrder === 'day-first' || d.dateOrder === 'month-first') {
    const other = d.dateOrder === 'day-first' ? 'month-first' : 'day-first';
    actions.push(button(`Read dates ${other.replace('-', ' ')}`, 'importPreview', { token: d.token, dateOrder: other }));
  }
  return toAttachment(adaptiveCard(body, actions, `Import preview for ${inline(d.groupName)}`));
}

/** One sender: name and count, the suggestion, and a choice of member (or none) the admin confirms. */
function senderRow(s: ImportPreviewCardData['senders'][number], index: number): CardElement[] {
  const inlines = [run(s.name, { weight: 'Bolder' }, 80), ` ${plural(s.messages, 'message')}`];
  if (s.matchName) inlines.push(run(` (looks like member ${s.matchName})`, { isSubtle: true }, 100));
  const elements: CardElement[] = [richText(inlines, { spacing: 'Small' })];
  if (s.choices && s.choices.length > 0) {
    elements.push({
      type: 'Input.ChoiceSet',
      id: `sender${index}`,
      style: 'compact',
      spacing: 'None',
      value: s.matchUserId ?? KEEP_IMPORTED_NAME,
      choices: [
        { title: 'Not a member: keep the name, marked imported', value: KEEP_IMPORTED_NAME },
        ...s.choices.map((m) => ({ title: `Member ${Array.from(m.name).slice(0, 80).join('')}`, value: m.userId })),
      ],
    });
  }
  return elements;
}

export interface ImportedHistoryRow {
  sender: string;
  at: string;
  text: string;
  kind: 'text' | 'system' | 'media' | 'deleted';
  fileName?: string;
  sourceName: string;
  replyTo?: { sender: string; preview: string };
  /** The member an admin confirmed this sender is; absent, the export's name is all there is. */
  memberName?: string;
}

function importedRow(m: ImportedHistoryRow): Container {
  const items: CardElement[] = [
    richText(
      m.memberName
        ? [
            run(m.memberName, { weight: 'Bolder', size: 'Small' }, 100),
            run(` · imported from ${m.sourceName}, where they were `, { isSubtle: true, size: 'Small' }),
            run(m.sender, { isSubtle: true, size: 'Small' }, 100),
          ]
        : [
            run(m.sender || 'Someone', { weight: 'Bolder', size: 'Small' }, 100),
            run(` · imported from ${m.sourceName}`, { isSubtle: true, size: 'Small' }),
          ],
    ),
    { type: 'TextBlock', text: localDateTime(m.at), isSubtle: true, size: 'Small', spacing: 'None', wrap: true },
  ];
  if (m.replyTo) {
    items.push(
      richText([run(`replying to ${m.replyTo.sender}: ${m.replyTo.preview}`, { isSubtle: true, italic: true, size: 'Small' }, 140)], {
        spacing: 'Small',
      }),
    );
  }
  if (m.kind === 'media')
    items.push(richText([run(`${m.fileName ?? 'A file'}: not imported`, { isSubtle: true, italic: true }, 140)], { spacing: 'Small' }));
  const text = m.kind === 'media' ? m.text.replace(/^.*(?:<Media omitted>|omitted|\(file attached\)|<attached: [^>]+>)\s*/i, '') : m.text;
  if (text.trim() !== '') items.push(...postTextBlocks(text, IMPORTED_MESSAGE_CHARS));
  return { type: 'Container', items, separator: true, spacing: 'Small' };
}

export interface ImportedHistoryCardData {
  groupId: string;
  groupName: string;
  /** Oldest first. */
  messages: readonly ImportedHistoryRow[];
  earlier?: string;
}

/** A page of a group's imported history (before its first live post), oldest first, with Earlier. */
export function buildImportedHistoryCard(d: ImportedHistoryCardData): Attachment {
  const body: CardElement[] = [richHeading(d.groupName), paragraph('Imported earlier messages', { isSubtle: true, spacing: 'None' })];
  if (d.messages.length === 0) body.push(paragraph('No imported messages you can see.', { isSubtle: true }));
  body.push(...d.messages.map(importedRow));
  const actions: CardAction[] = [];
  if (d.earlier !== undefined) actions.push(button('Earlier', 'importedHistoryPage', { groupId: d.groupId, before: d.earlier }));
  return toAttachment(adaptiveCard(body, actions, `Imported messages of ${inline(d.groupName)} (${d.messages.length})`));
}

export interface ImportsCardData {
  groupId: string;
  groupName: string;
  imports: ReadonlyArray<{
    importId: string;
    sourceName: string;
    fileName: string;
    byName: string;
    startedAt: string;
    count: number;
    running: boolean;
  }>;
}

/** `imports [group]` (admins): what was imported, with Undo for each. */
export function buildImportsCard(d: ImportsCardData): Attachment {
  const body: CardElement[] = [richHeading(d.groupName), paragraph('Imported chats', { isSubtle: true, spacing: 'None' })];
  if (d.imports.length === 0)
    body.push(
      paragraph('Nothing was imported. Send an exported WhatsApp or Telegram chat to me as a file to import it.', { isSubtle: true }),
    );
  for (const i of d.imports) {
    body.push({
      type: 'Container',
      separator: true,
      items: [
        richText([
          run(`${i.sourceName}: `, { weight: 'Bolder' }),
          run(i.fileName, {}, 100),
          ` · ${plural(i.count, 'message')}${i.running ? ' · unfinished' : ''}`,
        ]),
        richText([run(`by ${i.byName}`, { isSubtle: true, size: 'Small' }, 100)], { spacing: 'None' }),
        { type: 'TextBlock', text: localDateTime(i.startedAt), isSubtle: true, size: 'Small', spacing: 'None', wrap: true },
        { type: 'ActionSet', actions: [button('Undo this import', 'undoImport', { groupId: d.groupId, importId: i.importId })] },
      ],
    });
  }
  return toAttachment(adaptiveCard(body, [], `Imports of ${inline(d.groupName)}`));
}
