import { createHash } from 'node:crypto';
import type { Request, Response, Server } from 'restify';
import { escapeHtml, pageHeaders } from './html';
import { renderPage } from './pageStyle';
import { isInviteTokenShape } from '../groups/inviteSecrets';
import { inviteQrDataUrl } from '../../cards/qr';
import { InvalidInputError, NotFoundError } from '../errors';
import type { Group } from '../groups/model';

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
  /** True when the token was a link of a group that was reset since (from the hashes kept of reset links). */
  wasReset?(token: string): Promise<boolean>;
  publicUrl: string;
  /** The bot's app id, for the "Open in Teams" deep link; absent in a local run. */
  botAppId?: string;
  /** The Teams app id (TEAMS_APP_ID), for "Add the app to Teams" and what to tell IT. */
  teamsAppId?: string;
}

/** Where people get the Teams app. */
export const GET_TEAMS_URL = 'https://www.microsoft.com/microsoft-teams/download-app';

/**
 * The page's one script: the copy button. Without JavaScript the button stays hidden and the command is
 * selectable text (one tap selects all of it), so the page is complete either way. Allowed by its CSP hash.
 */
const COPY_SCRIPT = `(function(){var b=document.getElementById('copy'),c=document.getElementById('cmd');if(!b||!c)return;b.hidden=false;function sel(){var r=document.createRange();r.selectNodeContents(c);var s=window.getSelection();s.removeAllRanges();s.addRange(r);}b.addEventListener('click',function(){var t=c.textContent;var done=function(){b.textContent='Copied';b.setAttribute('data-copied','true');};if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(t).then(done,function(){sel();b.textContent='Press Ctrl+C to copy';});}else{sel();b.textContent='Press Ctrl+C to copy';}});})();`;
export const COPY_SCRIPT_HASH = `'sha256-${createHash('sha256').update(COPY_SCRIPT, 'utf8').digest('base64')}'`;

/**
 * GET /join/<token>: the page a shared link opens, in a browser or as a preview in a messaging app. It only
 * reads: mail scanners and link unfurlers fetch it, so joining happens in Teams, never on GET.
 *
 * Not shown: "you were removed from this group". A link is the same for everyone and the page does not know
 * who opens it (no sign-in outside Teams), so a removed member sees the group's page like anyone else; Teams
 * tells them when they try to join.
 */
export function landingPageRoutes(deps: LandingPageDependencies) {
  return (server: Server): void => {
    server.get('/join/:token', async (req: Request, res: Response) => {
      const token = String(req.params.token ?? '');
      let preview: InvitePreview | undefined;
      let reset = false;
      try {
        // A damaged or wrong-length token cannot be an invite: "not valid" at once, without asking storage.
        preview = isInviteTokenShape(token) ? await deps.preview(token) : undefined;
        if (!preview && isInviteTokenShape(token) && deps.wasReset) reset = await deps.wasReset(token);
      } catch {
        res.writeHead(503, { ...pageHeaders(), 'Retry-After': '30' });
        res.end(renderUnavailablePage());
        return;
      }
      if (preview) {
        const html = await renderInvitePage(preview, token, deps);
        res.writeHead(200, pageHeaders({ scriptSrc: COPY_SCRIPT_HASH }));
        res.end(html);
        return;
      }
      res.writeHead(reset ? 410 : 404, pageHeaders());
      res.end(reset ? renderResetLinkPage() : renderUnknownLinkPage());
    });
  };
}

export function joinCommand(token: string, publicUrl: string): string {
  return `join ${publicUrl}/join/${token}`;
}

/** Teams' deep link to a 1:1 chat with the bot, with the join command typed in. */
export function openInTeamsUrl(botAppId: string, command: string): string {
  return `https://teams.microsoft.com/l/chat/0/0?users=28:${encodeURIComponent(botAppId)}&message=${encodeURIComponent(command)}`;
}

/**
 * The page's own address for one of our assets (the group photo): relative to the page, `../groups/<id>/photo`,
 * when the asset is under PUBLIC_URL. An absolute PUBLIC_URL address breaks when the page is opened by another
 * name for the same server (http://127.0.0.1:3978 while PUBLIC_URL says localhost): another origin, which the
 * page's CSP (img-src 'self') refuses. Relative to `<PUBLIC_URL>/join/<token>`, so a path prefix in PUBLIC_URL
 * (a reverse proxy) still works. Any other address is left as it is.
 */
export function pageRelativeUrl(url: string, publicUrl: string): string {
  const base = `${publicUrl.replace(/\/+$/, '')}/`;
  return url.startsWith(base) ? `../${url.slice(base.length)}` : url;
}

export function addAppUrl(teamsAppId: string): string {
  return `https://teams.microsoft.com/l/app/${encodeURIComponent(teamsAppId)}`;
}

export async function renderInvitePage(
  preview: InvitePreview,
  token: string,
  deps: Pick<LandingPageDependencies, 'publicUrl' | 'botAppId' | 'teamsAppId'>,
): Promise<string> {
  const name = escapeHtml(preview.groupName);
  const command = joinCommand(token, deps.publicUrl);
  const pageUrl = `${deps.publicUrl}/join/${token}`;
  const members = `${preview.memberCount} ${preview.memberCount === 1 ? 'member' : 'members'}`;
  const description = `${members}. ${preview.organizationName ? `Owned by ${preview.organizationName}. ` : ''}Join the group in Microsoft Teams.`;
  const openInTeams = deps.botAppId ? openInTeamsUrl(deps.botAppId, command) : undefined;
  const itAppId = deps.teamsAppId ?? deps.botAppId;
  const qr = await inviteQrDataUrl(pageUrl);
  const image = preview.photoUrl ? `<meta property="og:image" content="${escapeHtml(preview.photoUrl)}">\n` : '';
  const initial = escapeHtml(Array.from(preview.groupName.trim())[0]?.toUpperCase() ?? '#');

  const head = `<meta property="og:type" content="website">
<meta property="og:title" content="Join ${name}">
<meta property="og:description" content="${escapeHtml(description)}">
<meta property="og:url" content="${escapeHtml(pageUrl)}">
${image}<meta name="twitter:card" content="summary">
<style>
.group{display:flex;align-items:center;gap:1rem}
.group p{margin:0 0 .3rem}
.photo,.initial{width:72px;height:72px;border-radius:50%;flex:none;object-fit:cover}
.initial{display:flex;align-items:center;justify-content:center;background:#5b5fc7;color:#fff;font-size:2rem;font-weight:700}
.qr{display:block;width:180px;height:180px;margin:.5rem auto;image-rendering:pixelated}
.command{display:flex;gap:.5rem;align-items:stretch}
.command code{flex:1;display:block;background:#f5f5f5;padding:.6rem;border-radius:6px;overflow-wrap:anywhere;user-select:all;-webkit-user-select:all;font-size:.9rem}
.command button{font:inherit;font-weight:600;border:1px solid #c7c8e9;background:#fff;color:#4f52b2;border-radius:6px;padding:0 .9rem;cursor:pointer}
</style>
`;

  const steps = openInTeams
    ? `<a class="button" id="open-in-teams" href="${escapeHtml(openInTeams)}">Open in Teams</a>
<p class="muted">Teams opens a chat with the Kaizala Groups bot with the join message ready: press Send.</p>
<a class="secondary" id="get-teams" href="${GET_TEAMS_URL}">Get Microsoft Teams</a>
${deps.teamsAppId ? `<a class="secondary" id="add-app" href="${escapeHtml(addAppUrl(deps.teamsAppId))}">Add the app to Teams</a>\n` : ''}`
    : `<p class="note" id="local">This bot runs on a test machine without a Teams app id, so there is no Teams button. To join, send the message below to the bot in the chat you use to try it (for example the Agents Playground of <code>npm run playground</code>).</p>\n`;

  const main = `<div class="group">
${preview.photoUrl ? `<img class="photo" src="${escapeHtml(pageRelativeUrl(preview.photoUrl, deps.publicUrl))}" alt="">` : `<div class="initial" aria-hidden="true">${initial}</div>`}
<div><h1>${name}</h1>
<p class="meta">${members}${preview.organizationName ? '' : ' · A group on Microsoft Teams'}</p>
${preview.organizationName ? `<p><span class="owner">Owned by ${escapeHtml(preview.organizationName)}</span></p>` : ''}</div>
</div>
<p>You were invited to join this group in Microsoft Teams.</p>
${steps}<h2>On another device</h2>
<p class="muted">Scan this code with your phone's camera to open this page there.</p>
<img class="qr" id="qr" src="${qr}" width="180" height="180" alt="QR code of this invite link">
<h2>${openInTeams ? 'Or send this message to the bot' : 'The message to send'}</h2>
<div class="command"><code id="cmd">${escapeHtml(command)}</code><button type="button" id="copy" hidden>Copy</button></div>
<h2>Who can join</h2>
<p>Anyone with this link who has Microsoft Teams. ${
    preview.organizationName
      ? `The group belongs to ${escapeHtml(preview.organizationName)}: its IT admins and the group's admins can remove members, and the group's admins can reset this link at any time.`
      : "The group's admins can remove members and reset this link at any time."
  }</p>
<h2>Teams says the app is not available?</h2>
<p>Your organization decides which apps you can use in Teams. Ask your IT department to allow the Kaizala Groups app${itAppId ? ` (app id <code id="app-id">${escapeHtml(itAppId)}</code>)` : ''}, then open this page again.</p>`;

  return renderPage({ title: `Join ${preview.groupName}`, head, main, script: COPY_SCRIPT });
}

export function renderUnknownLinkPage(): string {
  return renderPage({
    title: 'Invite link not valid',
    main: `<h1>This invite link is not valid</h1>
<p>Check that you copied the whole link. If it came from someone in the group, ask them to send it again.</p>`,
  });
}

export function renderResetLinkPage(): string {
  return renderPage({
    title: 'This invite link was reset',
    main: `<h1>This link was reset</h1>
<p>A group admin made a new invite link, so this one no longer works. Ask the person who sent it to you for the new one.</p>`,
  });
}

export function renderUnavailablePage(): string {
  return renderPage({
    title: 'Please try again',
    main: `<h1>We can't show this invite right now</h1>
<p>Please try again in a moment. Your link has not changed.</p>`,
  });
}

/**
 * The landing page's look-up over the domain. Only "no such link" (or no link at all) is a 404; a storage
 * failure must not tell people their link is invalid.
 */
export function invitePreviewOf(
  groups: { resolveInvite(ref: { kind: 'token'; value: string }): Promise<Group> },
  photoUrl: (group: Group) => string | undefined,
): LandingPageDependencies['preview'] {
  return async (token) => {
    const group = await groups.resolveInvite({ kind: 'token', value: token }).catch((err: unknown) => {
      if (err instanceof NotFoundError || err instanceof InvalidInputError) return undefined;
      throw err;
    });
    return (
      group && {
        groupName: group.name,
        memberCount: group.memberCount,
        organizationName: group.organizationName,
        photoUrl: photoUrl(group),
      }
    );
  };
}
