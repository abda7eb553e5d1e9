import type { TurnContext } from 'botbuilder';
import type { GroupService } from '../../groups/groupService';
import type { Group } from '../../groups/model';
import type { CreateGroupDependencies, PhotoBytes } from '../../../dialogs/createGroupDialog';
import { markdownSafe, type GroupActions } from './groupActions';
import { conversationRefOf, userFromActivity } from '../input/identity';

/**
 * The last step of "new group": creates the group (idempotent on the activity, so a redelivered answer makes no
 * second group) and answers with its info card and what to do next.
 */
export function createGroupAndShow(groups: GroupService, actions: Pick<GroupActions, 'groupInfo'>): CreateGroupDependencies['create'] {
  return async (context: TurnContext, draft: { name: string; photo?: PhotoBytes }): Promise<Group> => {
    const creator = userFromActivity(context.activity);
    const group = await groups.createGroup({
      name: draft.name,
      creator,
      photo: draft.photo,
      idempotencyKey: `${context.activity.conversation.id}|${context.activity.id}`,
      conversationRef: conversationRefOf(context.activity),
    });
    const reply = await actions.groupInfo(
      { user: creator, activityId: context.activity.id ?? '' },
      group.id,
      `Your group **${markdownSafe(group.name)}** is ready. Next: Invite People. What you type here now goes to the group.`,
    );
    if (reply.text) await context.sendActivity(reply.text);
    await context.sendActivity({ attachments: reply.cards });
    return group;
  };
}
