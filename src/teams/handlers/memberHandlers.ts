/**
 * The handler table's entries for a group's members and their roles (src/teams/handlers/handlers.ts spreads
 * them in their place, so the help card and the command menu keep their order): the members card and its pages,
 * remove (asked first; organization admins of the owner too), allow, make admin, remove admin.
 */
import type { CardData } from '../../../cards';
import { ForbiddenError } from '../../errors';
import { LastAdminError } from '../../groups/groupService';
import { splitMemberAndGroup } from '../input/commandArgs';
import { groupCommand, groupIdOf, groupNamed, onMember, tokenOf, userIdOf, withGroup, type Handler } from './handlerKit';

/** The members card's search: the box's text (the Search button), else the search its Next page carries. */
function searchOf(data: CardData): string | undefined {
  const typed = typeof data.memberSearch === 'string' ? data.memberSearch : typeof data.search === 'string' ? data.search : '';
  return typed.trim() === '' ? undefined : typed.trim().slice(0, 100);
}

export const MEMBER_HANDLERS = {
  members: {
    typed: groupCommand(
      {
        phrase: 'members',
        heading: 'Run the group',
        aliases: ['show members'],
        args: '[group]',
        rest: 'group',
        help: "List a group's members; admins can remove members and make admins.",
        manifest: { title: 'members', description: "List a group's members" },
      },
      (ctx, id) => ctx.actions.members(ctx.req, id),
    ),
  },
  showMembers: { clicked: (ctx, data) => ctx.actions.members(ctx.req, groupIdOf(data), tokenOf(data)) },
  membersPage: { clicked: (ctx, data) => ctx.actions.members(ctx.req, groupIdOf(data), tokenOf(data), searchOf(data)) },
  manageMember: { clicked: (ctx, data) => ctx.actions.memberCard(ctx.req, groupIdOf(data), userIdOf(data)) },
  remove: {
    typed: {
      phrase: 'remove',
      heading: 'Run the group',
      aliases: ['remove member'],
      args: '<member> [from <group>]',
      rest: { person: 'member', separator: 'from', orgGroups: true },
      unresolved: 'ask',
      help: 'Remove a member from a group; they cannot rejoin until an admin allows them (group admins).',
      run: async (ctx, args) => {
        const { req, actions } = ctx;
        const { member, group } = splitMemberAndGroup(args, 'from');
        const resolved = await groupNamed(ctx, group ?? '');
        // Not one of the user's groups, or not their admin: an organization admin may still remove people
        // from any group the organization owns (after signing in).
        if ('reply' in resolved) return group ? ctx.organization.removeMember(ctx.turn, req, group, member) : resolved.reply;
        try {
          // Asks first (issue 17): the confirmation card's button removes.
          return await actions.askRemove(req, resolved.groupId, (await actions.findMember(req, resolved.groupId, member)).user.id);
        } catch (err) {
          if (group && err instanceof ForbiddenError && !(err instanceof LastAdminError))
            return ctx.organization.removeMember(ctx.turn, req, group, member);
          throw err;
        }
      },
    },
  },
  removeMember: { clicked: (ctx, data) => ctx.actions.askRemove(ctx.req, groupIdOf(data), userIdOf(data)) },
  confirmRemove: {
    confirmation: true,
    clicked: async (ctx, data) => {
      try {
        return await ctx.actions.removeMember(ctx.req, groupIdOf(data), userIdOf(data));
      } catch (err) {
        // Not an admin of the group: an organization admin of its owner may still remove (signed in).
        if (err instanceof ForbiddenError && !(err instanceof LastAdminError))
          return ctx.organization.confirmRemove(ctx.turn, ctx.req, groupIdOf(data), userIdOf(data));
        throw err;
      }
    },
  },
  allow: {
    typed: {
      phrase: 'allow',
      heading: 'Run the group',
      aliases: ['let back in', 'unban'],
      args: '<member> [in <group>]',
      rest: { person: 'removed', separator: 'in' },
      unresolved: 'ask',
      help: 'Let someone an admin removed join the group again (group admins).',
      run: (ctx, args) => {
        const { member, group } = splitMemberAndGroup(args, 'in');
        return withGroup(ctx, group ?? '', async (id) =>
          ctx.actions.allowMember(ctx.req, id, (await ctx.actions.findRemoved(ctx.req, id, member)).user.id),
        );
      },
    },
  },
  allowMember: { clicked: (ctx, data) => ctx.actions.allowMember(ctx.req, groupIdOf(data), userIdOf(data)) },
  makeAdmin: {
    typed: {
      phrase: 'make admin',
      heading: 'Run the group',
      aliases: ['makeadmin'],
      args: '<member> [in <group>]',
      rest: { person: 'member', separator: 'in' },
      unresolved: 'ask',
      help: 'Make a member an admin of the group (group admins).',
      run: onMember('in', (ctx, groupId, memberId) => ctx.actions.makeAdmin(ctx.req, groupId, memberId)),
    },
    clicked: (ctx, data) => ctx.actions.makeAdmin(ctx.req, groupIdOf(data), userIdOf(data)),
  },
  removeAdmin: {
    typed: {
      phrase: 'remove admin',
      heading: 'Run the group',
      aliases: ['removeadmin'],
      args: '<admin> [in <group>]',
      rest: { person: 'admin', separator: 'in' },
      unresolved: 'ask',
      help: 'Make an admin a member again; a group always keeps one admin (group admins).',
      run: onMember('in', (ctx, groupId, memberId) => ctx.actions.removeAdmin(ctx.req, groupId, memberId)),
    },
    clicked: (ctx, data) => ctx.actions.removeAdmin(ctx.req, groupIdOf(data), userIdOf(data)),
  },
} satisfies Record<string, Handler>;
