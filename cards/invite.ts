import type { Attachment } from 'botbuilder';
import { button, openUrl } from './actions';
import { actionSet, paragraph, richHeading } from './layout';
import { MAX_QR_DATA_URL_CHARS, QR_DATA_URL_PREFIX } from './qr';
import { adaptiveCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, ownRun, richText, run, shown } from './text';

export interface InviteCardData {
  groupId: string;
  groupName: string;
  /** The shareable https link (the landing page). Anyone with it can join. */
  inviteLink: string;
  /** The short code people can type: `join <code>`. */
  joinCode: string;
  /** From `inviteQrDataUrl(inviteLink)` (cards/qr.ts). Left out when absent, not a PNG data URL, or too large. */
  qrPngDataUrl?: string;
  /** Admins also get "Reset link". */
  viewerIsAdmin: boolean;
}

export interface ShareLinks {
  whatsapp: string;
  telegram: string;
  sms: string;
  email: string;
  teams: string;
}

const enc = encodeURIComponent;

/** The share targets, every parameter percent-encoded (RFC 3986; RFC 6068 for mailto: spaces as %20). */
export function shareLinks(groupName: string, inviteLink: string): ShareLinks {
  // The name goes into messages other apps format (WhatsApp, SMS, mail): as in a Teams message, no live URL.
  const name = shown(groupName, 100);
  const invitation = `Join "${name}" in Microsoft Teams:`;
  const message = `${invitation} ${inviteLink}`;
  return {
    whatsapp: `https://wa.me/?text=${enc(message)}`,
    telegram: `https://t.me/share/url?url=${enc(inviteLink)}&text=${enc(invitation)}`,
    // "sms:?&body=" is the form both iOS and Android accept without a recipient.
    sms: `sms:?&body=${enc(message)}`,
    email: `mailto:?subject=${enc(`Join ${name} in Microsoft Teams`)}&body=${enc(
      `Hi,\r\n\r\nWe are moving our group "${name}" to Microsoft Teams. Open this link to join:\r\n\r\n${inviteLink}\r\n\r\nIf Teams asks, sign in with your work account.\r\n`,
    )}`,
    // Share to Teams (the web launcher behind the "Share to Teams" button): pick a person, chat or channel.
    teams: `https://teams.microsoft.com/share?href=${enc(inviteLink)}&msgText=${enc(invitation)}`,
  };
}

function usableQr(dataUrl: string | undefined): dataUrl is string {
  return (
    dataUrl !== undefined &&
    dataUrl.startsWith(QR_DATA_URL_PREFIX) &&
    dataUrl.length <= MAX_QR_DATA_URL_CHARS &&
    /^[A-Za-z0-9+/]+=*$/.test(dataUrl.slice(QR_DATA_URL_PREFIX.length))
  );
}

export function buildInviteCard(data: InviteCardData): Attachment {
  const links = shareLinks(data.groupName, data.inviteLink);
  const body: CardElement[] = [
    richHeading('Invite people to ', data.groupName),
    paragraph('Share the link in your other chat apps. Anyone who has the link can join.', { isSubtle: true }),
    richText([run('Link: ', { weight: 'Bolder' }), ownRun(data.inviteLink, { fontType: 'Monospace' }, 500)]),
    richText([run('Join code: ', { weight: 'Bolder' }), run(data.joinCode, { fontType: 'Monospace', size: 'Medium' }, 64)], {
      spacing: 'Small',
    }),
  ];
  if (usableQr(data.qrPngDataUrl)) {
    body.push({
      type: 'Image',
      url: data.qrPngDataUrl,
      altText: `QR code for the invite link to ${shown(data.groupName)}`,
      // Large enough to scan from another phone's screen.
      size: 'Large',
      horizontalAlignment: 'Center',
    });
  }
  body.push(
    paragraph('Share to', { spacing: 'Medium', isSubtle: true }),
    actionSet([openUrl('WhatsApp', links.whatsapp), openUrl('Telegram', links.telegram), openUrl('SMS', links.sms)], 'Small'),
    actionSet([openUrl('Email', links.email), openUrl('Teams', links.teams)], 'Small'),
  );

  const actions: CardAction[] = [button('Group Info', 'showGroupInfo', { groupId: data.groupId })];
  if (data.viewerIsAdmin) {
    actions.push(button('Reset link', 'resetLink', { groupId: data.groupId }, { tooltip: 'Revoke this link and make a new one' }));
  }
  return toAttachment(adaptiveCard(body, actions, `Invite people to ${inline(data.groupName)}: ${data.inviteLink}`));
}
