import type { GroupService } from '../../groups/groupService';
import { InvalidInputError } from '../../errors';
import type { Group } from '../../groups/model';
import type { DocumentProfile } from '../../storage/documentProfileStore';
import {
  buildDocumentDetailsCard,
  buildEmailCard,
  buildPosterCard,
  ORGANIZATION_NAME_INPUT,
  PERSONAL_LINE_INPUT,
  provenName,
  SENDER_NAME_INPUT,
} from '../../../cards';
import type { CardData } from '../../../cards/verbs';
import type { DocumentsFlow } from '../conversation';
import type { Requester } from './groupActions';
import type { Reply } from '../replies';

export interface DocumentLinks {
  posterUrl: string;
  introPosterUrl: string;
  emailFileUrl: string;
  mailto: { subject: string; body: string };
  expiresAt: Date;
}

/** The sender, personal line and typed organization of a group's documents (DocumentService). */
export interface DocumentProfiles {
  profileFor(groupId: string, userId: string): Promise<{ group: Group; profile: DocumentProfile; isAdmin: boolean }>;
  saveProfile(groupId: string, userId: string, input: DocumentProfile): Promise<DocumentProfile>;
}

type Kind = 'poster' | 'email';

/**
 * Step 4: the posters and the email, as signed download links on a card of their own. A group admin first
 * gets a card to say who they come from (sender name, personal line and, without a verified organization, an
 * organization name); members get the documents as the admin set them.
 */
export class GroupDocumentsFlow implements DocumentsFlow {
  constructor(
    private readonly groups: GroupService,
    private readonly links: (groupId: string, userId: string) => Promise<DocumentLinks>,
    private readonly profiles?: DocumentProfiles,
  ) {}

  async documents(req: Requester, groupId: string, kind: Kind = 'poster'): Promise<Reply> {
    if (this.profiles) {
      const { group, profile, isAdmin } = await this.profiles.profileFor(groupId, req.user.id);
      if (isAdmin) return { cards: [this.detailsCard(group, profile, kind, req)] };
    }
    return this.documentCard(req, groupId, kind);
  }

  async saveDetails(req: Requester, groupId: string, data: CardData): Promise<Reply> {
    const kind: Kind = data.kind === 'email' ? 'email' : 'poster';
    if (!this.profiles) return this.documentCard(req, groupId, kind);
    const text = (key: string) => (typeof data[key] === 'string' ? (data[key] as string) : undefined);
    const input: DocumentProfile = {
      ...(text(SENDER_NAME_INPUT) !== undefined ? { senderName: text(SENDER_NAME_INPUT)! } : {}),
      ...(text(PERSONAL_LINE_INPUT) !== undefined ? { personalLine: text(PERSONAL_LINE_INPUT)! } : {}),
      ...(text(ORGANIZATION_NAME_INPUT) !== undefined ? { organizationName: text(ORGANIZATION_NAME_INPUT)! } : {}),
    };
    try {
      await this.profiles.saveProfile(groupId, req.user.id, input);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      const { group } = await this.profiles.profileFor(groupId, req.user.id);
      return { cards: [this.detailsCard(group, input, kind, req, err.userMessage)] };
    }
    return this.documentCard(req, groupId, kind);
  }

  private detailsCard(group: Group, profile: DocumentProfile, kind: Kind, req: Requester, problem?: string) {
    const senderName = profile.senderName ?? req.user.name;
    return buildDocumentDetailsCard({
      groupId: group.id,
      groupName: group.name,
      kind,
      ...(senderName ? { senderName } : {}),
      ...(profile.personalLine ? { personalLine: profile.personalLine } : {}),
      organization: group.organizationName
        ? { verified: provenName(group.organizationName) }
        : { ...(profile.organizationName ? { typed: profile.organizationName } : {}) },
      ...(problem ? { problem } : {}),
    });
  }

  private async documentCard(req: Requester, groupId: string, kind: Kind): Promise<Reply> {
    const { group, member } = await this.groups.getGroupAsMember(groupId, req.user.id);
    const links = await this.links(groupId, req.user.id);
    const canEdit = this.profiles !== undefined && member.role === 'admin';
    if (kind === 'poster') {
      return {
        cards: [
          buildPosterCard({
            groupId,
            groupName: group.name,
            joinPosterUrl: links.posterUrl,
            moveGroupsPosterUrl: links.introPosterUrl,
            expiresAt: links.expiresAt,
            canEdit,
          }),
        ],
      };
    }
    const senderName = this.profiles
      ? ((await this.profiles.profileFor(groupId, req.user.id)).profile.senderName ?? group.createdBy.name)
      : undefined;
    return {
      cards: [
        buildEmailCard({
          groupId,
          groupName: group.name,
          emailFileUrl: links.emailFileUrl,
          mailto: links.mailto,
          expiresAt: links.expiresAt,
          canEdit,
          ...(senderName ? { senderName } : {}),
        }),
      ],
    };
  }
}
