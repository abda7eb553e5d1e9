import type { AuditEntry, Group, Member } from '../groups/model';
import type { Post } from '../groups/posts';
import type { StoredImport } from '../import/ports';

/** The fields of one CSV row; a row describes the group, a member, or an audit entry. */
const CSV_COLUMNS = [
  'record',
  'group_id',
  'group_name',
  'user_id',
  'user_name',
  'role',
  'action',
  'actor',
  'at',
  'detail',
  'seq',
  'tenant_id',
  'reply_to',
  'edited_at',
  'deleted_at',
  'imported',
] as const;

async function* none<T>(): AsyncIterable<T> {}

/**
 * A spreadsheet opens a cell starting with = + - @ (or a tab/CR) as a formula (CSV injection, ASVS 1.2.10);
 * such cells get a leading apostrophe. Every cell is quoted.
 */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/**
 * The group's conversation is the organization's too: every post in sequence order. A deleted post is a row
 * without sender or text (its number, time, and who deleted it when), so the numbers stay whole.
 */
export async function groupExportCsv(
  group: Group,
  members: AsyncIterable<Member>,
  audit: AsyncIterable<AuditEntry>,
  posts: AsyncIterable<Post> = none(),
  imported: AsyncIterable<StoredImport> = none(),
): Promise<string> {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  const row = (cells: Partial<Record<(typeof CSV_COLUMNS)[number], string | number>>) =>
    rows.push(CSV_COLUMNS.map((c) => csvCell(cells[c])).join(','));
  row({
    record: 'group',
    group_id: group.id,
    group_name: group.name,
    at: group.createdAt,
    detail: `owned by ${group.organizationName ?? group.tenantId ?? '-'}; ${group.memberCount} members`,
  });
  for await (const m of members) {
    row({ record: 'member', group_id: group.id, user_id: m.user.id, user_name: m.user.name, role: m.role, at: m.joinedAt });
  }
  for await (const a of audit) {
    row({
      record: 'audit',
      group_id: group.id,
      user_id: a.subject?.id,
      user_name: a.subject?.name,
      action: a.action,
      actor: a.actor.name,
      at: a.at,
      detail: a.detail,
    });
  }
  for await (const p of posts) {
    // A deleted post keeps its row (its number, when, and who deleted it), never its sender or text (issue 17).
    if (p.deletedAt) {
      row({
        record: 'post',
        group_id: group.id,
        action: 'post_deleted',
        actor: p.deletedBy?.name,
        at: p.createdAt,
        seq: p.seq,
        deleted_at: p.deletedAt,
      });
      continue;
    }
    row({
      record: 'post',
      group_id: group.id,
      user_id: p.sender.userId,
      user_name: p.sender.name,
      action: 'post',
      at: p.createdAt,
      detail: p.text,
      seq: p.seq,
      tenant_id: p.sender.tenantId,
      reply_to: p.replyTo?.seq,
      edited_at: p.editedAt,
    });
  }
  // Imported earlier messages (issue 20): the export's sender name (never a member's id) and the app it came from.
  for await (const m of imported) {
    row({
      record: 'imported',
      group_id: group.id,
      user_name: m.sender,
      action: m.kind,
      at: m.at,
      detail: m.kind === 'media' && m.fileName ? `${m.fileName} (not imported) ${m.text}` : m.text,
      imported: m.source,
    });
  }
  return `${rows.join('\r\n')}\r\n`;
}

export async function groupExportJson(
  group: Group,
  members: AsyncIterable<Member>,
  audit: AsyncIterable<AuditEntry>,
  posts: AsyncIterable<Post> = none(),
  imported: AsyncIterable<StoredImport> = none(),
): Promise<string> {
  const memberList: Array<Omit<Member, 'conversationRef'>> = [];
  for await (const { conversationRef: _omitted, ...m } of members) memberList.push(m);
  const auditList: AuditEntry[] = [];
  for await (const a of audit) auditList.push(a);
  const postList: Array<Omit<Post, 'sourceKey'> | Pick<Post, 'seq' | 'createdAt' | 'deletedAt' | 'deletedBy'>> = [];
  for await (const { sourceKey: _internal, ...p } of posts) {
    postList.push(p.deletedAt ? { seq: p.seq, createdAt: p.createdAt, deletedAt: p.deletedAt, deletedBy: p.deletedBy } : p);
  }
  const importedList: Array<Omit<StoredImport, 'importId' | 'index'>> = [];
  for await (const { importId: _id, index: _index, ...m } of imported) importedList.push(m);
  return JSON.stringify(
    { exportedAt: new Date().toISOString(), group, members: memberList, audit: auditList, posts: postList, imported: importedList },
    null,
    2,
  );
}
