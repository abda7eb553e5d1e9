import type { Request, Response, Server } from 'restify';
import { escapeHtml, pageHeaders } from './html';
import { isInviteTokenShape } from '../groups/inviteSecrets';

/** What the landing page shows of a group: no member names, nothing an unfurler should not see. */
export interface InvitePreview {
  groupName: string;
  memberCount: number;
  photoUrl?: string;
  organizationName?: string;
}

export interface LandingPageDependencies {
  /** Looks a token up without side effects; undefined for an unknown or reset link. */
  preview(token: string): Promise<InvitePreview | undefined>;
  publicUrl: string;
  /** The bot's app id, for the "Open in Teams" deep link; absent in a local run. */
  botAppId?: string;
}

/**
 * GET /join/<token>: the page a shared link opens, in a browser or as a preview in a messaging app. It only
 * reads: mail scanners and link unfurlers fetch it, so joining happens in Teams, never on GET.
 */
export function landingPageRoutes(deps: LandingPageDependencies) {
  return (server: Server): void => {
    server.get('/join/:token', async (req: Request, res: Response) => {
      const token = String(req.params.token ?? '');
      let preview: InvitePreview | undefined;
      try {
        // A damaged or wrong-length token cannot be an invite: "not valid" at once, without asking storage.
        preview = isInviteTokenShape(token) ? await deps.preview(token) : undefined;
      } catch {
        res.writeHead(503, { ...pageHeaders(), 'Retry-After': '30' });
        res.end(renderUnavailablePage());
        return;
      }
      res.writeHead(preview ? 200 : 404, pageHeaders());
      res.end(preview ? renderInvitePage(preview, token, deps) : renderUnknownLinkPage());
    });
  };
}

export function joinCommand(token: string, publicUrl: string): string {
  return `join ${publicUrl}/join/${token}`;
}

export function renderInvitePage(preview: InvitePreview, token: string, deps: Pick<LandingPageDependencies, 'publicUrl' | 'botAppId'>): string {
  const name = escapeHtml(preview.groupName);
  const command = joinCommand(token, deps.publicUrl);
  const pageUrl = `${deps.publicUrl}/join/${token}`;
  const members = `${preview.memberCount} ${preview.memberCount === 1 ? 'member' : 'members'}`;
  const owner = preview.organizationName ? `Owned by ${escapeHtml(preview.organizationName)}` : 'A group on Microsoft Teams';
  const description = `${members}. ${preview.organizationName ? `Owned by ${preview.organizationName}. ` : ''}Join the group in Microsoft Teams.`;
  const openInTeams = deps.botAppId
    ? `https://teams.microsoft.com/l/chat/0/0?users=28:${encodeURIComponent(deps.botAppId)}&message=${encodeURIComponent(command)}`
    : undefined;
  const image = preview.photoUrl ? `<meta property="og:image" content="${escapeHtml(preview.photoUrl)}">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Join ${name}</title>
<meta property="og:type" content="website">
<meta property="og:title" content="Join ${name}">
<meta property="og:description" content="${escapeHtml(description)}">
<meta property="og:url" content="${escapeHtml(pageUrl)}">
${image}
<meta name="twitter:card" content="summary">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f5f5;color:#242424}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
img.photo{width:96px;height:96px;border-radius:50%;object-fit:cover}
h1{font-size:1.4rem;margin:.5rem 0;overflow-wrap:anywhere}
.meta{color:#616161}
a.button{display:inline-block;background:#5b5fc7;color:#fff;padding:.7rem 1.2rem;border-radius:4px;text-decoration:none;font-weight:600}
code{display:block;background:#f0f0f0;padding:.6rem;border-radius:4px;overflow-wrap:anywhere;user-select:all}
</style>
</head>
<body>
<main>
${preview.photoUrl ? `<img class="photo" src="${escapeHtml(preview.photoUrl)}" alt="">` : ''}
<h1>${name}</h1>
<p class="meta">${members} · ${owner}</p>
<p>You were invited to join this group in Microsoft Teams.</p>
${openInTeams ? `<p><a class="button" href="${escapeHtml(openInTeams)}">Open in Teams</a></p>` : ''}
<p>${openInTeams ? 'Or send' : 'Send'} this to the Kaizala Groups bot in Teams:</p>
<code>${escapeHtml(command)}</code>
</main>
</body>
</html>`;
}

export function renderUnknownLinkPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><title>Invite link not valid</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><main><h1>This invite link is not valid</h1><p>It may have been reset by the group's admin. Ask them for a new link.</p></main></body>
</html>`;
}

export function renderUnavailablePage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><title>Please try again</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><main><h1>We can't show this invite right now</h1><p>Please try again in a moment. Your link has not changed.</p></main></body>
</html>`;
}
