import type { GroupService } from '../src/groups/groupService';
import { buildDocumentsCard } from '../cards';
import type { DocumentsFlow } from './conversation';
import type { Requester } from './groupActions';
import type { Reply } from './replies';

export interface DocumentLinks {
  posterUrl: string;
  introPosterUrl: string;
  emailFileUrl: string;
  mailto: { subject: string; body: string };
  expiresAt: Date;
}

/** Step 4: the personalized poster and email template, as signed download links on a card. */
export class GroupDocumentsFlow implements DocumentsFlow {
  constructor(
    private readonly groups: GroupService,
    private readonly links: (groupId: string, userId: string) => Promise<DocumentLinks>,
  ) {}

  async documents(req: Requester, groupId: string): Promise<Reply> {
    const { group } = await this.groups.getGroupAsMember(groupId, req.user.id);
    const links = await this.links(groupId, req.user.id);
    return {
      cards: [
        buildDocumentsCard({
          groupId,
          groupName: group.name,
          posterUrl: links.posterUrl,
          emailFileUrl: links.emailFileUrl,
          introPosterUrl: links.introPosterUrl,
          mailto: links.mailto,
          expiresAt: links.expiresAt,
        }),
      ],
    };
  }
}
