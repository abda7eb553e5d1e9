import type { Request, Response, Server } from 'restify';
import type { GroupService } from '../groups/groupService';
import type { Logger } from '../logger';
import { isAppError } from '../errors';

/**
 * GET /groups/<id>/photo?v=<version>: the group's stored small image, for cards, the tab and the landing page.
 * No sign-in: Teams fetches card images without the user's credentials, and group ids are unguessable HMACs.
 * The version is part of the URL and derived from the bytes, so a matching request can be cached for ever; any
 * other version is a 404 (a stale URL never shows a different picture under an "immutable" header).
 */

export interface GroupPhotoDependencies {
  groups: Pick<GroupService, 'getPhoto'>;
  logger: Logger;
}

/** Group ids are 24 hex characters; the bound keeps anything else away from storage. */
const GROUP_ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
const VERSION_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** The URL cards and pages use for a group's photo. */
export function groupPhotoUrl(publicUrl: string, groupId: string, version: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/groups/${encodeURIComponent(groupId)}/photo?v=${encodeURIComponent(version)}`;
}

export function groupPhotoRoutes(deps: GroupPhotoDependencies) {
  return (server: Server): void => {
    server.get('/groups/:id/photo', async (req: Request, res: Response) => {
      const groupId = String(req.params.id ?? '');
      const query = req.query as Record<string, unknown> | undefined;
      const version = typeof query?.['v'] === 'string' ? query['v'] : '';
      if (!GROUP_ID_SHAPE.test(groupId) || !VERSION_SHAPE.test(version)) return notFound(res);
      try {
        const photo = await deps.groups.getPhoto(groupId);
        if (photo.version !== version || !IMAGE_TYPES.has(photo.contentType)) return notFound(res);
        res.writeHead(200, {
          'Content-Type': photo.contentType,
          'Content-Length': String(photo.bytes.length),
          // A day, not forever: a deleted group's photo should not live on in caches.
          'Cache-Control': 'public, max-age=86400, must-revalidate',
          'Content-Security-Policy': "default-src 'none'; sandbox",
          'Cross-Origin-Resource-Policy': 'cross-origin',
        });
        res.end(photo.bytes);
      } catch (err) {
        if (isAppError(err) && err.httpStatus === 404) return notFound(res);
        deps.logger.error({ err, groupId }, 'serving a group photo failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end('Something went wrong.');
      }
    });
  };
}

function notFound(res: Response): void {
  // Short-lived: the photo may be set a moment later under this very version.
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'public, max-age=60' });
  res.end('Not found.');
}
