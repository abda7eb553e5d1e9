import type { Request, Response, Server } from 'restify';
import type { GroupService } from '../groups/groupService';
import type { Logger } from '../logger';
import type { Post } from '../groups/posts';
import type { StoredImport } from '../import/ports';
import type { UrlSigner } from './signedUrls';
import { groupExportCsv, groupExportJson } from './groupExport';

const EXPORT_TTL_SECONDS = 60 * 60;

/** Signed links to an organization group's export, for a verified organization admin of its tenant. */
export function exportLinks(signer: UrlSigner) {
  return (groupId: string, admin: { tenantId: string; objectId: string; name?: string }) => {
    const params = { group: groupId, tenant: admin.tenantId, by: admin.objectId, byName: admin.name ?? 'Organization admin' };
    return {
      jsonUrl: signer.sign('/downloads/export.json', params, EXPORT_TTL_SECONDS),
      csvUrl: signer.sign('/downloads/export.csv', params, EXPORT_TTL_SECONDS),
      expiresAt: new Date(Date.now() + EXPORT_TTL_SECONDS * 1000),
    };
  };
}

/**
 * GET /downloads/export.(json|csv): the signature proves an organization admin of `tenant` asked for it; the
 * group must still belong to that tenant when the file is made.
 */
export function exportRoutes(deps: {
  groups: GroupService;
  signer: UrlSigner;
  logger: Logger;
  posts?: { all(groupId: string): AsyncIterable<Post> };
  /** Imported earlier messages (issue 20), after the posts. */
  imported?: { all(groupId: string): AsyncIterable<StoredImport> };
}) {
  return (server: Server): void => {
    for (const format of ['json', 'csv'] as const) {
      const path = `/downloads/export.${format}`;
      server.get(path, async (req: Request, res: Response) => {
        const verdict = deps.signer.verify(path, req.query as Record<string, string>);
        if (!verdict.ok) {
          res.status(verdict.reason === 'expired' ? 410 : 403);
          res.json({
            error:
              verdict.reason === 'expired'
                ? 'This download link has expired. Ask the bot for a new one.'
                : 'This download link is not valid.',
          });
          return;
        }
        const { group: groupId, tenant, by, byName } = verdict.params;
        const group = await deps.groups.getGroup(groupId!).catch(() => undefined);
        if (!group || group.tenantId !== tenant) {
          res.status(404);
          res.json({ error: 'This group is not owned by your organization.' });
          return;
        }
        await deps.groups.recordExport(
          group.id,
          { user: { id: by!, name: byName ?? 'Organization admin' }, orgAdminOfTenant: tenant },
          format,
        );
        const data = await deps.groups.exportGroup(group.id);
        const posts = deps.posts?.all(group.id);
        const imported = deps.imported?.all(group.id);
        const body =
          format === 'csv'
            ? await groupExportCsv(data.group, data.members, data.audit, posts, imported)
            : await groupExportJson(data.group, data.members, data.audit, posts, imported);
        deps.logger.info({ groupId: group.id, tenantId: tenant, by, format }, 'organization group exported');
        res.writeHead(200, {
          'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
          'Content-Disposition': `attachment; filename="group-${group.id}.${format}"`,
          'Cache-Control': 'no-store',
        });
        res.end(body);
      });
    }
  };
}
