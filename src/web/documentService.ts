import type { GroupService } from '../groups/groupService';
import type { Group, GroupPhoto, Invite } from '../groups/model';
import { buildJoinPoster, buildMoveGroupsPoster, qrCodePng } from '../documents/poster';
import { buildJoinEmail } from '../documents/emailTemplate';
import { readImageInfo } from '../documents/imageInfo';
import {
  MAX_NAME_LENGTH,
  MAX_PERSONAL_LINE_LENGTH,
  MAX_SENDER_NAME_LENGTH,
  cleanText,
  type JoinPath,
  type Voice,
} from '../documents/content';
import { ForbiddenError, InvalidInputError, isAppError } from '../errors';
import type { DocumentProfile, DocumentProfileStore } from '../storage/documentProfileStore';
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
  groups: Pick<GroupService, 'getGroup' | 'getInvite' | 'getPhoto'> & Partial<Pick<GroupService, 'getGroupAsMember'>>;
  /** The sender name, personal line and typed organization the owner set; none when absent. */
  profiles?: DocumentProfileStore;
  signer: UrlSigner;
  /** How the bot is called in Teams, printed on the posters and in the email. */
  botName: string;
  /** Opens or installs the bot in Teams (a deep link); printed with a QR code on the intro poster when given. */
  botInstallUrl?: string;
  /**
   * How the invite page lets people join, so the poster and the email describe the page they will see: its Open
   * in Teams button (default; a bot with an app id) or, for a bot tried locally, the message to send.
   */
  joinPath?: JoinPath;
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
    const email = buildJoinEmail(this.joinData(group, invite, await this.voice(group)));
    const params = { group: group.id, user: userId };
    const posterUrl = this.options.signer.sign(DOWNLOAD_PATHS.poster, params, this.ttl);
    const introPosterUrl = this.options.signer.sign(DOWNLOAD_PATHS.introPoster, params, this.ttl);
    const emailFileUrl = this.options.signer.sign(DOWNLOAD_PATHS.email, params, this.ttl);
    // The expiry the signer wrote into the link, not a second reading of the clock.
    const exp = Number(new URL(posterUrl).searchParams.get('exp'));
    return {
      posterUrl,
      introPosterUrl,
      emailFileUrl,
      mailto: mailtoParts(email.mailto),
      mailtoUrl: email.mailto,
      expiresAt: new Date(exp * 1000),
    };
  }

  /** The path's kind, or undefined when the path is none of ours. */
  static kindOf(pathname: string): DocumentKind | undefined {
    return (Object.keys(DOWNLOAD_PATHS) as DocumentKind[]).find((kind) => pathname.endsWith(DOWNLOAD_PATHS[kind]));
  }

  /** Builds the document for a verified grant; the membership is checked again here. */
  async build(kind: DocumentKind, grant: DownloadGrant): Promise<DocumentDownload> {
    const { group, invite } = await this.groupAndInvite(grant);
    const base = fileBaseName(group.name);
    const voice = await this.voice(group);
    switch (kind) {
      case 'poster': {
        const photo = await this.posterPhoto(group);
        const bytes = await buildJoinPoster({ ...this.joinData(group, invite, voice), ...(photo ? { photo } : {}) });
        return { bytes, contentType: PPTX_CONTENT_TYPE, filename: `join-${base}.pptx` };
      }
      case 'introPoster': {
        const bytes = await buildMoveGroupsPoster({
          ...voice,
          botName: this.options.botName,
          ...(this.options.botInstallUrl ? { installUrl: this.options.botInstallUrl } : {}),
        });
        return { bytes, contentType: PPTX_CONTENT_TYPE, filename: 'move-your-groups.pptx' };
      }
      case 'email': {
        const qrPng = await qrCodePng(invite.url, 360);
        const { eml } = buildJoinEmail({ ...this.joinData(group, invite, voice), qrPng });
        return { bytes: eml, contentType: EML_CONTENT_TYPE, filename: `join-${base}.eml` };
      }
    }
  }

  /**
   * What the documents of a group say and who they come from. The organization is the verified one when the
   * group is mapped (nobody can change it); otherwise the name the owner typed, shown as typed. The sender is
   * who the owner named, else the group's creator.
   */
  async voice(group: Group): Promise<Voice> {
    const profile = (await this.options.profiles?.get(group.id)) ?? {};
    const organizationName = group.organizationName ?? profile.organizationName;
    const senderName = profile.senderName ?? group.createdBy.name;
    return {
      ...(organizationName ? { organizationName } : {}),
      // Mapped (step 3 done): only then do the documents say the organization owns the group.
      ...(group.tenantId !== undefined ? { organizationOwnsGroup: true } : {}),
      ...(senderName ? { senderName } : {}),
      ...(profile.personalLine ? { personalLine: profile.personalLine } : {}),
    };
  }

  /** The saved profile of a group (for the owner's card), read by a member of the group. */
  async profileFor(groupId: string, userId: string): Promise<{ group: Group; profile: DocumentProfile; isAdmin: boolean }> {
    const { group, member } = await this.membership(groupId, userId);
    return { group, profile: (await this.options.profiles?.get(groupId)) ?? {}, isAdmin: member.role === 'admin' };
  }

  /**
   * Group admins set the sender name, the personal line and (for a group without a verified organization) the
   * organization name. Blank clears a field. Too long is refused, not cut: the owner sees what will print.
   */
  async saveProfile(groupId: string, userId: string, input: DocumentProfile): Promise<DocumentProfile> {
    const { group, member } = await this.membership(groupId, userId);
    if (member.role !== 'admin') throw new ForbiddenError('Only group admins can change who the poster and email come from.');
    if (!this.options.profiles) throw new Error('no document profile store');
    const field = (value: string | undefined, max: number, what: string): string | undefined => {
      const cleaned = cleanText(value ?? '', Number.MAX_SAFE_INTEGER);
      if (Array.from(cleaned).length > max) throw new InvalidInputError(`The ${what} is too long (${max} characters at most).`);
      return cleaned === '' ? undefined : cleaned;
    };
    const senderName = field(input.senderName, MAX_SENDER_NAME_LENGTH, 'sender name');
    const personalLine = field(input.personalLine, MAX_PERSONAL_LINE_LENGTH, 'personal line');
    // A mapped group's organization is the verified one: a typed name is ignored, never stored.
    const organizationName = group.organizationName ? undefined : field(input.organizationName, MAX_NAME_LENGTH, 'organization name');
    const profile: DocumentProfile = {
      ...(senderName ? { senderName } : {}),
      ...(personalLine ? { personalLine } : {}),
      ...(organizationName ? { organizationName } : {}),
    };
    await this.options.profiles.put(groupId, profile);
    return profile;
  }

  private async membership(groupId: string, userId: string) {
    if (!this.options.groups.getGroupAsMember) throw new Error('DocumentService needs groups.getGroupAsMember for profiles');
    return this.options.groups.getGroupAsMember(groupId, userId);
  }

  private async groupAndInvite(grant: DownloadGrant): Promise<{ group: Group; invite: Invite }> {
    // getInvite first: it is the membership check, and nothing about the group is read for a stranger.
    const invite = await this.options.groups.getInvite(grant.groupId, { id: grant.userId, name: '' });
    const group = await this.options.groups.getGroup(grant.groupId);
    return { group, invite };
  }

  /**
   * What the join poster and the email say: the voice, the group, its invite and how its page lets people join.
   * The email deliberately carries no poster link: recipients read it days later, long after a signed link
   * has expired, and the link would name the sender's account.
   */
  private joinData(group: Group, invite: Invite, voice: Voice) {
    return {
      ...voice,
      groupName: group.name,
      inviteUrl: invite.url,
      joinCode: invite.joinCode,
      botName: this.options.botName,
      ...(this.options.joinPath ? { joinPath: this.options.joinPath } : {}),
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

/** A file name stem from a group name: one line, no path or reserved characters, no spaces, not too long. */
function fileBaseName(groupName: string): string {
  const cleaned = cleanText(groupName, 60)
    .replace(/[\\/:*?"<>|]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim()
    .replace(/\s+/g, '-');
  return cleaned === '' ? 'group' : cleaned;
}
