import type { GroupService } from '../groups/groupService';
import type { Group, GroupPhoto, Invite } from '../groups/model';
import { buildIntroPoster, buildMovePoster } from '../documents/poster';
import { buildMoveEmail } from '../documents/emailTemplate';
import { readImageInfo } from '../documents/imageInfo';
import { cleanText } from '../documents/content';
import { isAppError } from '../errors';
import type { UrlSigner } from './signedUrls';

/**
 * Step 4 of the move: the personalized poster, the intro poster and the email template of one group, and the
 * signed, expiring links that download them.
 *
 * A link carries the group id and the id of the member who asked for it (signed, so neither can be changed).
 * The download runs as that member: it re-checks membership through `groups.getInvite`, so a link stops working
 * as soon as its owner leaves or is removed, even before it expires, and a reset invite link is never printed.
 */

export type DocumentKind = 'poster' | 'introPoster' | 'email';

/** Route paths of the downloads. The signature covers the path, so a poster link cannot fetch the email. */
export const DOWNLOAD_PATHS: Readonly<Record<DocumentKind, string>> = {
  poster: '/downloads/poster.pptx',
  introPoster: '/downloads/intro-poster.pptx',
  email: '/downloads/move-email.eml',
};

export const PPTX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
export const EML_CONTENT_TYPE = 'message/rfc822';

/** Long enough to forward the link to a colleague or a print shop, short enough that a leaked one soon dies. */
export const DEFAULT_LINK_TTL_SECONDS = 60 * 60;

export interface DocumentLinks {
  posterUrl: string;
  introPosterUrl: string;
  emailFileUrl: string;
  /** For `mailtoUrl()` in cards/documents.ts: the subject and body of the short email. */
  mailto: { subject: string; body: string };
  /** The same, ready to use as an href. */
  mailtoUrl: string;
  /** When the three download links stop working. */
  expiresAt: Date;
}

export interface DocumentDownload {
  bytes: Buffer;
  contentType: string;
  /** Unsafe as a header value: encode it with `contentDisposition()`. */
  filename: string;
}

export interface DocumentServiceOptions {
  groups: Pick<GroupService, 'getGroup' | 'getInvite' | 'getPhoto'>;
  signer: UrlSigner;
  /** How the bot is called in Teams, printed on the posters and in the email. */
  botName: string;
  /** Opens or installs the bot in Teams (a deep link); printed with a QR code on the intro poster when given. */
  botInstallUrl?: string;
  linkTtlSeconds?: number;
  /** Told when the group photo cannot go on the poster (the poster is made without it). */
  onPhotoSkipped?: (groupId: string, reason: string) => void;
}

/** The signed parameters of a download link. */
export interface DownloadGrant {
  groupId: string;
  userId: string;
}

export class DocumentService {
  private readonly ttl: number;

  constructor(private readonly options: DocumentServiceOptions) {
    this.ttl = options.linkTtlSeconds ?? DEFAULT_LINK_TTL_SECONDS;
  }

  /**
   * The download links for one member of the group, plus the short email as a mailto link. Throws the domain's
   * NotFound/Forbidden when the group is gone or the user is not a member (nothing is signed for them).
   */
  async documentLinks(groupId: string, userId: string): Promise<DocumentLinks> {
    const { group, invite } = await this.groupAndInvite({ groupId, userId });
    const email = buildMoveEmail(this.emailData(group, invite));
    const params = { group: group.id, user: userId };
    const posterUrl = this.options.signer.sign(DOWNLOAD_PATHS.poster, params, this.ttl);
    const introPosterUrl = this.options.signer.sign(DOWNLOAD_PATHS.introPoster, params, this.ttl);
    const emailFileUrl = this.options.signer.sign(DOWNLOAD_PATHS.email, params, this.ttl);
    // The expiry the signer wrote into the link, not a second reading of the clock.
    const exp = Number(new URL(posterUrl).searchParams.get('exp'));
    return { posterUrl, introPosterUrl, emailFileUrl, mailto: mailtoParts(email.mailto), mailtoUrl: email.mailto, expiresAt: new Date(exp * 1000) };
  }

  /** The path's kind, or undefined when the path is none of ours. */
  static kindOf(pathname: string): DocumentKind | undefined {
    return (Object.keys(DOWNLOAD_PATHS) as DocumentKind[]).find((kind) => pathname.endsWith(DOWNLOAD_PATHS[kind]));
  }

  /** Builds the document for a verified grant; the membership is checked again here. */
  async build(kind: DocumentKind, grant: DownloadGrant): Promise<DocumentDownload> {
    const { group, invite } = await this.groupAndInvite(grant);
    const base = fileBaseName(group.name);
    switch (kind) {
      case 'poster': {
        const photo = await this.posterPhoto(group);
        const bytes = await buildMovePoster({
          organizationName: group.organizationName,
          groupName: group.name,
          inviteUrl: invite.url,
          joinCode: invite.joinCode,
          botName: this.options.botName,
          ...(photo ? { photo } : {}),
        });
        return { bytes, contentType: PPTX_CONTENT_TYPE, filename: `${base} - poster.pptx` };
      }
      case 'introPoster': {
        const bytes = await buildIntroPoster({
          organizationName: group.organizationName,
          botName: this.options.botName,
          ...(this.options.botInstallUrl ? { installUrl: this.options.botInstallUrl } : {}),
        });
        return { bytes, contentType: PPTX_CONTENT_TYPE, filename: `${this.options.botName} - introduction poster.pptx` };
      }
      case 'email': {
        const { eml } = buildMoveEmail(this.emailData(group, invite));
        return { bytes: eml, contentType: EML_CONTENT_TYPE, filename: `${base} - email.eml` };
      }
    }
  }

  private async groupAndInvite(grant: DownloadGrant): Promise<{ group: Group; invite: Invite }> {
    // getInvite first: it is the membership check, and nothing about the group is read for a stranger.
    const invite = await this.options.groups.getInvite(grant.groupId, { id: grant.userId, name: '' });
    const group = await this.options.groups.getGroup(grant.groupId);
    return { group, invite };
  }

  /**
   * The email deliberately carries no poster link: recipients read it days later, long after a signed link
   * has expired, and the link would name the sender's account.
   */
  private emailData(group: Group, invite: Invite) {
    return {
      organizationName: group.organizationName,
      groupName: group.name,
      inviteUrl: invite.url,
      joinCode: invite.joinCode,
      botName: this.options.botName,
    };
  }

  /** The stored photo when PowerPoint can show it (PNG or JPEG); a poster without a photo beats no poster. */
  private async posterPhoto(group: Group): Promise<GroupPhoto | undefined> {
    if (!group.photo) return undefined;
    let photo: GroupPhoto;
    try {
      photo = await this.options.groups.getPhoto(group.id);
      readImageInfo(photo.bytes, photo.contentType);
    } catch (err) {
      if (!isAppError(err)) throw err;
      this.options.onPhotoSkipped?.(group.id, err.userMessage);
      return undefined;
    }
    return photo;
  }
}

/** `mailto:?subject=…&body=…` back into its two texts (encodeURIComponent never writes "+", so this is exact). */
function mailtoParts(mailto: string): { subject: string; body: string } {
  const query = new URLSearchParams(mailto.slice(mailto.indexOf('?') + 1));
  return { subject: query.get('subject') ?? '', body: query.get('body') ?? '' };
}

/** A file name stem from a group name: one line, no path or reserved characters, not too long. */
function fileBaseName(groupName: string): string {
  const cleaned = cleanText(groupName, 60)
    .replace(/[\\/:*?"<>|]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  return cleaned === '' ? 'group' : cleaned;
}
