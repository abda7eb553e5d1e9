import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from '../errors';
import type { UserRef } from '../groups/model';
import { MAX_POST_CHARS, requireMembership, visibleFrom, type PostingContext, type PostSender, type PostStore } from '../groups/posts';
import type { ExportSource, ImportedMessage, ParsedExport } from './model';
import type { ImportedPage, ImportProgress, ImportRecord, ImportStore, StoredImport } from './ports';
import { isImportable, previewOf, type ImportPreview } from './preview';
import { packExport, unpackChunk, type PackedExport, type PackedReader } from './packedExport';
import { readExport, type ReadOptions } from './readExport';
import { confirmedMembers, type MemberName, type SenderChoices } from './senderMatch';

/*
 * Importing a chat export as a group's earlier history (issue 20): the preview (stores nothing), the import
 * (rows apart from live posts, one announcement post), its undo, and reading it back under the visibility
 * rule. Group admins only. Knows nothing of Teams.
 */

export const IMPORT_PAGE_SIZE = 20;
const SOURCE_NAMES: Record<ExportSource, string> = { whatsapp: 'WhatsApp', telegram: 'Telegram' };

export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

export interface ImportServiceOptions {
  store: ImportStore;
  posts: Pick<PostStore, 'postingContext'>;
  /** The group's current members' names, for the preview's suggestions. */
  members(groupId: string): Promise<MemberName[]>;
  /** The one live post an import makes (ConversationService.post: the rules, the numbering and delivery). */
  announce(post: { groupId: string; sender: PostSender; text: string; sourceKey: string }): Promise<void>;
  /** MESSAGE_RETENTION_DAYS: older messages are neither counted as kept nor stored. */
  retentionDays?: number;
  now?: () => Date;
}

export interface ImportOutcome {
  record: ImportRecord;
  /** False when this file had been imported before: nothing was stored or posted. */
  created: boolean;
  groupName: string;
}

export class ImportService {
  private readonly now: () => Date;

  constructor(private readonly options: ImportServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The preview, and the members an admin may match senders to (the card's and the tab's choices). */
  async preview(
    groupId: string,
    actor: UserRef,
    file: UploadedFile,
    read: ReadOptions,
  ): Promise<ImportPreview & { groupName: string; members: MemberName[]; packed(): Promise<PackedExport> }> {
    const context = await this.requireAdmin(groupId, actor.id);
    const parsed = await readExport(file.name, file.bytes, read);
    const members = await this.options.members(groupId);
    return {
      ...previewOf(parsed, members, { cutoff: this.cutoff() }),
      groupName: context.groupName,
      members,
      // What the upload keeps beside the file, so that Import does not read it again (pendingUploads.keepPacked).
      packed: () => packExport(parsed, read),
    };
  }

  /**
   * `senders`: the matches the admin confirmed (export name -> member id). Only those: a suggestion the admin
   * did not confirm is not applied, and a sender without one keeps the export's name, marked imported.
   */
  async importFile(
    groupId: string,
    actor: PostSender,
    file: UploadedFile,
    read: ReadOptions,
    senders: SenderChoices = {},
    progress?: ImportProgress,
  ): Promise<ImportOutcome> {
    return this.importFrom(groupId, actor, senders, progress, read.timeZone, async () => {
      // Only the messages to store are kept through the writes, not the parsed export beside them.
      const { source, fileName, contentHash, messages } = await readExport(file.name, file.bytes, read);
      const kept = messages.filter(this.keeps());
      return {
        source,
        fileName,
        contentHash,
        passes: async function* () {
          yield kept;
        },
      };
    });
  }

  /** The same import from the export as its preview read it (packedExport.ts): a chunk at a time, the file not read. */
  async importPacked(
    groupId: string,
    actor: PostSender,
    packed: PackedReader,
    senders: SenderChoices = {},
    progress?: ImportProgress,
  ): Promise<ImportOutcome> {
    return this.importFrom(groupId, actor, senders, progress, packed.read.timeZone, async () => {
      const keeps = this.keeps();
      const { source, fileName, contentHash } = packed;
      return {
        source,
        fileName,
        contentHash,
        passes: async function* () {
          for (let c = 0; c < packed.chunkCount; c++) yield (await unpackChunk(await packed.chunk(c))).filter(keeps);
        },
      };
    });
  }

  /**
   * The import, from the messages to store in time order, read in batches (`passes()`, twice: their count and
   * span first, for the record, then the rows).
   */
  private async importFrom(
    groupId: string,
    actor: PostSender,
    senders: SenderChoices,
    progress: ImportProgress | undefined,
    timeZone: string,
    messagesOf: () => Promise<Pick<ParsedExport, 'source' | 'fileName' | 'contentHash'> & { passes(): AsyncIterable<ImportedMessage[]> }>,
  ): Promise<ImportOutcome> {
    const context = await this.requireAdmin(groupId, actor.userId);
    const { resolved, unknown } = confirmedMembers(senders, Object.keys(senders).length ? await this.options.members(groupId) : []);
    if (unknown.length > 0) {
      throw new InvalidInputError(
        `The member chosen for ${unknown.slice(0, 3).join(', ')} is not in ${context.groupName} any more. Preview again and choose again.`,
      );
    }
    const { source, fileName, contentHash, passes } = await messagesOf();
    let count = 0;
    let first: string | undefined;
    let last: string | undefined;
    for await (const batch of passes()) {
      count += batch.length;
      first ??= batch[0]?.at;
      last = batch.at(-1)?.at ?? last;
    }
    const record: ImportRecord = {
      groupId,
      importId: importIdOf(contentHash),
      source,
      fileName,
      contentHash,
      by: { id: actor.userId, name: actor.name },
      startedAt: this.now().toISOString(),
      state: 'running',
      count,
      first,
      last,
    };
    const begun = await this.options.store.begin(record);
    if (begun.kind === 'busy') {
      throw new ConflictError(
        `An import is already running in ${context.groupName} (${begun.running.fileName}, started by ${begun.running.by.name}). Wait for it to finish, or remove it.`,
      );
    }
    if (begun.kind === 'duplicate') return { record: begun.record, created: false, groupName: context.groupName };
    // Resumed after a crash: what the first try wrote goes (it may have been read in another zone), then every
    // row, then the post, then done. The post comes before done because it is one post by key (a resumed job
    // posting again finds the first), while a job marked done is never resumed: done first would lose the post to
    // a crash between the two.
    if (begun.kind === 'resume') await this.options.store.clear(groupId, record.importId);
    let index = 0;
    for await (const batch of passes()) {
      // Rows are made a slice at a time, just before they are written.
      for (let start = 0; start < batch.length; start += ROWS_PER_SLICE) {
        const offset = index;
        const slice = batch.slice(start, start + ROWS_PER_SLICE).map((m, i) => storedOf(m, record, offset + i, resolved));
        await this.options.store.write(groupId, slice, progress && ((written) => progress(offset + written, count)));
        index += slice.length;
      }
    }
    const summary = { count, first, last };
    await this.options.announce({
      groupId,
      sender: actor,
      text: announcementOf({ ...record, ...summary }, actor.name, timeZone),
      sourceKey: `import-${groupId}-${record.importId}`,
    });
    const done = await this.options.store.finish(groupId, record.importId, summary);
    return { record: done, created: true, groupName: context.groupName };
  }

  async imports(groupId: string, actor: UserRef): Promise<{ groupName: string; imports: ImportRecord[] }> {
    const context = await this.requireAdmin(groupId, actor.id);
    return { groupName: context.groupName, imports: await this.options.store.list(groupId) };
  }

  /** Removes an import as a whole (its messages, its record, its hash: the file may be imported again). */
  async undo(groupId: string, actor: UserRef, importId: string): Promise<{ groupName: string; removed: number; record: ImportRecord }> {
    const { groupName, imports } = await this.imports(groupId, actor);
    const record = imports.find((r) => r.importId === importId);
    if (!record) throw new NotFoundError('That import was not found. It may have been removed already.');
    return { groupName, removed: await this.options.store.remove(groupId, importId), record };
  }

  /** Members only, under the one visibility rule: imported messages from `before` back, oldest first. */
  async history(groupId: string, userId: string, before?: string): Promise<ImportedPage & { groupName: string }> {
    const context = await requireMembership(this.options.posts, groupId, userId);
    const page = await this.options.store.page(groupId, { before, pageSize: IMPORT_PAGE_SIZE, visibleFrom: visibleFrom(context) });
    return { ...page, groupName: context.groupName };
  }

  /** Whether this member may see any imported message (history's "Imported earlier messages" button): one row read. */
  async hasImported(groupId: string, userId: string): Promise<boolean> {
    const context = await requireMembership(this.options.posts, groupId, userId);
    return (await this.options.store.page(groupId, { pageSize: 1, visibleFrom: visibleFrom(context) })).messages.length > 0;
  }

  private async requireAdmin(groupId: string, userId: string): Promise<PostingContext> {
    const context = await requireMembership(
      this.options.posts,
      groupId,
      userId,
      (name) => `Only admins of ${name} can import earlier messages.`,
    );
    if (!context.adminIds.includes(userId)) {
      throw new ForbiddenError(`Only admins of ${context.groupName} can import earlier messages.`);
    }
    return context;
  }

  private cutoff(): string | undefined {
    const days = this.options.retentionDays;
    return days === undefined ? undefined : new Date(this.now().getTime() - days * 24 * 60 * 60 * 1000).toISOString();
  }

  /** What is stored of an export: people's messages and media notes, within retention. */
  private keeps(): (m: ImportedMessage) => boolean {
    const cutoff = this.cutoff();
    return (m) => isImportable(m) && (cutoff === undefined || m.at >= cutoff);
  }
}

/** Rows are made and written a slice at a time: 40,000 rows at once were 40,000 more objects through the writes. */
const ROWS_PER_SLICE = 1000;

function storedOf(m: ImportedMessage, record: ImportRecord, index: number, members: ReadonlyMap<string, MemberName>): StoredImport {
  const stored: StoredImport = { ...m, text: capped(m.text), importId: record.importId, index, source: record.source };
  const member = members.get(m.sender);
  if (member) stored.member = { userId: member.userId, name: member.name };
  return stored;
}

/** A group's imports are told apart by their content: the same chat is the same import. */
function importIdOf(contentHash: string): string {
  return contentHash.slice(0, 20);
}

/** As long as a post may be; longer messages (rare in chats) are cut, with a mark that they were. */
function capped(text: string): string {
  const chars = Array.from(text);
  return chars.length <= MAX_POST_CHARS ? text : `${chars.slice(0, MAX_POST_CHARS - 20).join('')} ... (cut on import)`;
}

export function announcementOf(record: ImportRecord, adminName: string, timeZone: string): string {
  const day = (iso: string) => new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone });
  const span = record.first && record.last ? ` (${day(record.first)} - ${day(record.last)})` : '';
  const n = record.count.toLocaleString('en-US');
  return `${adminName} imported ${n} earlier ${record.count === 1 ? 'message' : 'messages'} from ${SOURCE_NAMES[record.source]}${span}. Type \`history\` to read them.`;
}
