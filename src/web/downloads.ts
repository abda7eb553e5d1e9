import type { Request, Response, Server } from 'restify';
import type { Logger } from '../logger';
import { isAppError } from '../errors';
import { DOWNLOAD_PATHS, DocumentService, type DocumentKind } from './documentService';
import { escapeHtml, pageHeaders } from './html';
import type { UrlSigner } from './signedUrls';

/**
 * GET /downloads/poster.pptx, /downloads/intro-poster.pptx, /downloads/move-email.eml: the documents of step 4,
 * behind signed, expiring links (see DocumentService). People open these links from a card or the tab, often in
 * a browser outside Teams, so refusals are short HTML pages that say what to do, never a JSON error.
 */

export interface DownloadRouteDependencies {
  documents: Pick<DocumentService, 'build'>;
  signer: Pick<UrlSigner, 'verify'>;
  logger: Logger;
}

export function downloadRoutes(deps: DownloadRouteDependencies) {
  return (server: Server): void => {
    for (const kind of Object.keys(DOWNLOAD_PATHS) as DocumentKind[]) {
      server.get(DOWNLOAD_PATHS[kind], async (req: Request, res: Response) => {
        await serveDownload(deps, kind, req, res);
      });
    }
  };
}

async function serveDownload(deps: DownloadRouteDependencies, kind: DocumentKind, req: Request, res: Response): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://request.invalid');
  const checked = deps.signer.verify(url.pathname, url.searchParams);
  if (!checked.ok) {
    deps.logger.info({ kind, reason: checked.reason }, 'download link refused');
    if (checked.reason === 'expired') {
      sendPage(
        res,
        410,
        'This download link has expired',
        'Download links work for one hour. Open the group in Teams and ask for the poster and email again to get fresh links.',
      );
    } else {
      sendPage(
        res,
        403,
        'This download link is not valid',
        'The link is incomplete or was changed. Open the group in Teams and ask for the poster and email again.',
      );
    }
    return;
  }
  const groupId = checked.params['group'];
  const userId = checked.params['user'];
  if (!groupId || !userId) {
    sendPage(res, 403, 'This download link is not valid', 'Open the group in Teams and ask for the poster and email again.');
    return;
  }

  let download;
  try {
    download = await deps.documents.build(kind, { groupId, userId });
  } catch (err) {
    if (isAppError(err) && (err.httpStatus === 403 || err.httpStatus === 404)) {
      deps.logger.info({ kind, groupId, status: err.httpStatus }, 'download for a group the link owner cannot see');
      // One answer for "left the group" and "group deleted": the link says nothing about the group any more.
      sendPage(
        res,
        403,
        'This download link no longer works',
        'The group was deleted, or the person who made this link is no longer a member. Ask a member of the group for a new link.',
      );
      return;
    }
    deps.logger.error({ err, kind, groupId }, 'building a download failed');
    sendPage(res, 500, 'Something went wrong', 'We could not make this document. Please try again in a moment.');
    return;
  }

  res.writeHead(200, {
    'Content-Type': download.contentType,
    'Content-Length': String(download.bytes.length),
    'Content-Disposition': contentDisposition(download.filename),
    // Personalized and signed per member: no shared cache may keep it.
    'Cache-Control': 'private, no-store',
    // Should a browser ever render it inline anyway, nothing in it may run.
    'Content-Security-Policy': "default-src 'none'; sandbox",
  });
  res.end(download.bytes);
}

function sendPage(res: Response, status: number, title: string, message: string): void {
  const body = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#242424}</style></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></main></body>
</html>`;
  res.writeHead(status, pageHeaders());
  res.end(body);
}

/**
 * `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 with RFC 5987/8187).
 * Safe for any name: the fallback keeps only harmless printable ASCII (no quote, backslash, percent or
 * semicolon), the extended form percent-encodes everything outside attr-char, so no name can end the header,
 * add a parameter or smuggle a line break.
 */
export function contentDisposition(filename: string): string {
  const oneLine = filename.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').replace(/[\\/]/g, '_');
  const fallback =
    oneLine
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9 !#$&+,.^_`{}~()-]/g, '_')
      .replace(/_+/g, '_')
      .replace(/^[\s.]+/, '')
      .slice(-120) || 'download';
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(oneLine)}`;
}

function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
