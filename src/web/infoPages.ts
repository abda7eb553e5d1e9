import type { Request, Response, Server } from 'restify';
import { pageHeaders } from './html';
import { renderPage } from './pageStyle';

/**
 * GET /, /privacy and /terms: the short pages the Teams app package links to (developer.websiteUrl, privacyUrl,
 * termsOfUseUrl) unless WEBSITE_URL, PRIVACY_URL and TERMS_URL point elsewhere. Static text, styled like the
 * invite landing page; they read nothing and change nothing.
 */

export interface InfoPageOptions {
  /** MESSAGE_RETENTION_DAYS when the deployment sets one; otherwise data is kept until the group is deleted. */
  retentionDays?: number;
}

export function infoPageRoutes(options: InfoPageOptions = {}) {
  const pages: Record<string, string> = {
    '/': renderHomePage(),
    '/privacy': renderPrivacyPage(options),
    '/terms': renderTermsPage(),
  };
  return (server: Server): void => {
    for (const [path, html] of Object.entries(pages)) {
      server.get(path, async (_req: Request, res: Response) => {
        res.writeHead(200, { ...pageHeaders(), 'Cache-Control': 'public, max-age=300' });
        res.end(html);
      });
    }
  };
}

export function renderHomePage(): string {
  return renderPage({
    title: 'Kaizala Groups for Teams',
    main: `<h1>Move your work groups to Microsoft Teams</h1>
<p>Kaizala Groups is a bot in Microsoft Teams. It moves a work group from a personal chat app into a chat that your organization owns.</p>
<h2>How it works</h2>
<ol>
<li><strong>Create the group</strong>: in Teams, open a chat with Kaizala Groups and send <code>new group</code>.</li>
<li><strong>Invite people</strong> with a link or QR code that anyone in the old group can open.</li>
<li><strong>Add it to your organization</strong> with your work account: from then on your organization owns the group.</li>
<li><strong>Ask everyone to move</strong> with a poster and an email made for your group.</li>
</ol>
<h2>Got an invite link?</h2>
<p>Open it on your phone or computer: the page shows the group and a button that opens it in Teams.</p>
<h2>Help</h2>
<p>In the chat with the bot, send <code>help</code>. If Teams says the app is not available, ask your IT department to allow the Kaizala Groups app.</p>`,
  });
}

export function renderPrivacyPage(options: InfoPageOptions = {}): string {
  const howLong =
    options.retentionDays !== undefined
      ? `Posts are deleted after ${options.retentionDays} ${options.retentionDays === 1 ? 'day' : 'days'} (the MESSAGE_RETENTION_DAYS setting of this deployment). The group itself, its members and its history are kept until the group is deleted.`
      : 'Group data is kept until the group is deleted. Deleting a group removes its members, its history, its posts, its photo and its invite rows.';
  return renderPage({
    title: 'Privacy - Kaizala Groups for Teams',
    main: `<h1>Privacy</h1>
<p>What Kaizala Groups stores, where, for how long, and how you export or delete it.</p>
<h2>What is stored</h2>
<ul>
<li>For each group: its name, its photo (if one was added), when and by whom it was created, and, once it is added to an organization, the organization's name and Microsoft 365 tenant id.</li>
<li>For each member: the display name and Teams user id, the role (admin or member), when they joined, and the address Teams gives the bot to send them a notice.</li>
<li>A history of changes to the group (who joined, left, was removed, reset the link, added the group to an organization, exported it).</li>
<li>The group's conversation: each post's text, its sender (display name, Teams user id and Microsoft 365 tenant id), when it was sent, the post it replies to, edits and deletions, and which members it was delivered to. Posts are written in the chat with the bot or in the My groups tab, and shown to the group's members there.</li>
<li>Announcements and polls: their text and options, and for each member whether and when they confirmed or voted; in a named poll also what they chose. In an anonymous poll only counts per option are kept: nothing links a member to a choice. They are deleted with their post and with the group.</li>
<li>For the poster and email: the sender name, the personal line and the organization name the group's owner typed.</li>
<li>Invite links and join codes are never stored: only a one-way hash of each, to find the group. A link that was reset is kept as a hash too, so its page can say "this link was reset".</li>
</ul>
<p>A copy of each post is delivered to every other member's chat with the bot, where Microsoft Teams keeps it as it keeps other chats. Commands you send the bot are not kept as posts.</p>
<h2>Where</h2>
<p>In the Azure Table Storage account of the organization that runs this bot. It is not shared with anyone else and not used for advertising.</p>
<h2>For how long</h2>
<p>${howLong} Signed download links (posters, emails, exports) stop working after one hour.</p>
<h2>Export and delete</h2>
<ul>
<li><strong>Members</strong>: send <code>leave</code> to the bot to leave a group; your membership is removed and posts stop reaching you. Deleting your message in your chat with the bot deletes the post for everyone; group admins can delete any post. Ask a group admin for the group's data.</li>
<li><strong>Group admins</strong>: remove members from the member list, and delete the group from Group Info: everything about it is removed.</li>
<li><strong>Organizations</strong>: organization admins send <code>org groups</code> to list the groups the organization owns, <code>export &lt;group&gt;</code> for a download of all of a group's data, its posts included (JSON and CSV), and <code>remove &lt;member&gt; from &lt;group&gt;</code>.</li>
</ul>`,
  });
}

export function renderTermsPage(): string {
  return renderPage({
    title: 'Terms of use - Kaizala Groups for Teams',
    main: `<h1>Terms of use</h1>
<p>Kaizala Groups helps you move a work group into Microsoft Teams. By using it you agree to these terms.</p>
<ul>
<li>Use it for work groups you are allowed to run, and share invite links only with the people they are meant for: anyone with the link can join.</li>
<li>Once a group is added to an organization, that organization owns it: its admins can see the group, export its data and remove members.</li>
<li>Your use of Microsoft Teams is governed by your organization's agreement with Microsoft.</li>
<li>The service is provided as is, by the organization that runs it. It may change or stop; group data is handled as described in the <a href="/privacy">privacy statement</a>.</li>
</ul>`,
  });
}
