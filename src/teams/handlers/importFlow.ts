import type { Attachment, TurnContext } from 'botbuilder';
import { isAppError } from '../../errors';
import type { ImportService, UploadedFile } from '../../import/importService';
import type { ExportSource } from '../../import/model';
import type { ImportJobs } from '../../import/importJobs';
import type { PendingUploadStore } from '../../import/pendingUploads';
import { chatFileOf } from '../../import/readExport';
import type { ImportPreview } from '../../import/preview';
import type { Logger } from '../../logger';
import { buildImportedHistoryCard, buildImportPreviewCard, buildImportsCard, KEEP_IMPORTED_NAME, type CardData } from '../../../cards';
import { candidatesFor, type MemberName } from '../../import/senderMatch';
import type { Requester } from './groupActions';
import { markdownSafe } from './groupActions';
import { postSenderOf } from './postsFlow';
import { conversationRefOf } from '../input/identity';
import { cardReply, textReply, type Reply } from '../replies';

/*
 * Importing a chat export in the personal chat (issue 20): an admin sends the file to the bot while a group is
 * current; the bot answers with the preview card; Import stores it as the group's earlier history. The domain
 * (src/import) does the work; this is the turn's side of it.
 */

export interface ImportFlowDependencies {
  imports: ImportService;
  intake: { fromAttachment(attachment: Attachment): Promise<UploadedFile> };
  pending: PendingUploadStore;
  jobs: ImportJobs;
  logger: Logger;
  /** MESSAGE_RETENTION_DAYS is set: the preview says how many messages it would keep. */
  hasRetention: boolean;
}

const SOURCE_NAMES: Record<ExportSource, string> = { whatsapp: 'WhatsApp', telegram: 'Telegram' };
const EXPIRED = 'That preview has expired. Send the file again to see it.';
const DEFAULT_ZONE = 'UTC';
const UNDER_WAY = 'This import is already under way. The group gets a post when it is done.';

export class ImportFlow {
  constructor(private readonly deps: ImportFlowDependencies) {}

  /** A file sent while a group is current: its preview (stores nothing), or one line saying why not. */
  async upload(context: TurnContext, groupId: string, attachment: Attachment): Promise<Reply> {
    const activity = context.activity;
    const sender = postSenderOf(activity);
    // Teams sends the user's zone with each message; WhatsApp's export has none.
    const timeZone = typeof activity.localTimezone === 'string' && activity.localTimezone ? activity.localTimezone : DEFAULT_ZONE;
    return this.refusalAsText(async () => {
      const upload = await this.deps.intake.fromAttachment(attachment);
      // Only the chat is kept for the Import click (not a zip's media).
      const file = await chatFileOf(upload.name, upload.bytes);
      const preview = await this.deps.imports.preview(groupId, { id: sender.userId, name: sender.name }, file, { timeZone });
      const token = await this.deps.pending.put({ groupId, userId: sender.userId, file, timeZone: preview.timeZone });
      await this.deps.pending.keepPacked(token, await preview.packed());
      return this.previewReply(preview, token);
    });
  }

  async previewAgain(context: TurnContext, data: CardData): Promise<Reply> {
    const sender = postSenderOf(context.activity);
    const token = String(data.token ?? '');
    const upload = await this.deps.pending.get(token, sender.userId);
    if (!upload) return textReply(EXPIRED);
    const timeZone = zoneOf(data) ?? upload.timeZone;
    const dateOrder = data.dateOrder === 'day-first' || data.dateOrder === 'month-first' ? data.dateOrder : upload.dateOrder;
    return this.refusalAsText(async () => {
      const preview = await this.deps.imports.preview(upload.groupId, { id: sender.userId, name: sender.name }, upload.file, {
        timeZone,
        dateOrder,
      });
      await this.deps.pending.update(token, { timeZone: preview.timeZone, dateOrder });
      await this.deps.pending.keepPacked(token, await preview.packed());
      return this.previewReply(preview, token);
    });
  }

  /**
   * Import: the job is ordered and this turn answers at once; the import runs after it on this instance's job
   * runner (a crash is resumed by another's sweep), and its end is told in this chat (ImportNotices).
   */
  async confirm(context: TurnContext, data: CardData): Promise<Reply> {
    const sender = postSenderOf(context.activity);
    const token = String(data.token ?? '');
    if ((await this.deps.pending.status(token))?.state === 'importing') return textReply(UNDER_WAY);
    const upload = await this.deps.pending.get(token, sender.userId);
    if (!upload) return textReply(EXPIRED);
    const to = conversationRefOf(context.activity);
    await this.deps.jobs.startInBackground(token, {
      actor: sender,
      timeZone: zoneOf(data) ?? upload.timeZone,
      ...(upload.dateOrder ? { dateOrder: upload.dateOrder } : {}),
      senders: senderChoicesOf(data),
      // The confirming activity's id: a second Import after a refusal is told again, a redelivered click once.
      ...(to ? { report: { to, key: `${token}|${context.activity.id ?? ''}` } } : {}),
    });
    this.deps.logger.info({ groupId: upload.groupId }, 'chat import started');
    return textReply(
      `Importing the earlier messages now. ${to ? "I'll tell you here when it is done; " : ''}the group gets one post about it.`,
    );
  }

  /** Whether the group has imported messages this member may see (history's last page links to them). */
  async hasImported(groupId: string, userId: string): Promise<boolean> {
    return this.deps.imports.hasImported(groupId, userId);
  }

  async history(req: Requester, groupId: string, before?: string): Promise<Reply> {
    const page = await this.deps.imports.history(groupId, req.user.id, before);
    return cardReply(
      buildImportedHistoryCard({
        groupId,
        groupName: page.groupName,
        messages: page.messages.map((m) => ({
          sender: m.sender,
          at: m.at,
          text: m.text,
          kind: m.kind,
          fileName: m.fileName,
          sourceName: SOURCE_NAMES[m.source],
          replyTo: m.replyTo,
          memberName: m.member?.name,
        })),
        earlier: page.earlier,
      }),
    );
  }

  async list(req: Requester, groupId: string): Promise<Reply> {
    const { groupName, imports } = await this.deps.imports.imports(groupId, req.user);
    return cardReply(
      buildImportsCard({
        groupId,
        groupName,
        imports: imports.map((i) => ({
          importId: i.importId,
          sourceName: SOURCE_NAMES[i.source],
          fileName: i.fileName,
          byName: i.by.name,
          startedAt: i.startedAt,
          count: i.count,
          running: i.state === 'running',
        })),
      }),
    );
  }

  async undo(req: Requester, groupId: string, importId: string): Promise<Reply> {
    const { groupName, removed, record } = await this.deps.imports.undo(groupId, req.user, importId);
    return textReply(
      `Removed the import of ${markdownSafe(record.fileName)} from **${markdownSafe(groupName)}**: ${removed.toLocaleString('en-US')} messages.`,
    );
  }

  private previewReply(preview: ImportPreview & { groupName: string; members: MemberName[] }, token: string): Reply {
    return cardReply(
      buildImportPreviewCard({
        groupName: preview.groupName,
        token,
        sourceName: SOURCE_NAMES[preview.source],
        fileName: preview.fileName,
        found: preview.found,
        importable: preview.importable,
        system: preview.system,
        media: preview.media,
        deleted: preview.deleted,
        first: preview.first,
        last: preview.last,
        senders: preview.senders.map((s) => ({
          name: s.name,
          messages: s.messages,
          matchName: s.match?.name,
          matchUserId: s.match?.userId,
          choices: candidatesFor(s.name, preview.members),
        })),
        dateOrder: preview.dateOrder,
        timeZone: preview.timeZone,
        keptByRetention: this.deps.hasRetention ? preview.keptByRetention : undefined,
      }),
    );
  }

  /** Bad input (not an export, a zip bomb, not admin, ...) is one line, and nothing is stored. */
  private async refusalAsText(run: () => Promise<Reply>): Promise<Reply> {
    try {
      return await run();
    } catch (err) {
      if (!isAppError(err)) throw err;
      this.deps.logger.info({ code: err.code }, 'import refused');
      return textReply(err.userMessage);
    }
  }
}

/** The card's choices: `name<i>` says which sender `sender<i>` is about; "keep the imported name" is no match. */
export function senderChoicesOf(data: CardData): Record<string, string> {
  const choices: Record<string, string> = {};
  for (let i = 0; typeof data[`name${i}`] === 'string'; i++) {
    const chosen = data[`sender${i}`];
    if (typeof chosen === 'string' && chosen !== '' && chosen !== KEEP_IMPORTED_NAME) choices[String(data[`name${i}`])] = chosen;
  }
  return choices;
}

function zoneOf(data: CardData): string | undefined {
  return typeof data.timeZone === 'string' && data.timeZone.trim() !== '' ? data.timeZone.trim() : undefined;
}
