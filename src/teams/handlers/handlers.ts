import { buildHelpCard, buildShortHelpCard } from '../../../cards/help';
import type { CardVerb } from '../../../cards/verbs';
// Types only: turnInput.ts loads commands.ts, which reads this table while loading.
import type { TurnInput } from '../input/turnInput';
import {
  bulkAddButton,
  orgAdminCheck,
  groupButton,
  groupCommand,
  groupIdOf,
  join,
  NOT_UNDERSTOOD,
  postButton,
  tokenOf,
  withGroup,
  withPosts,
  type Clicked,
  type Handler,
  type HandlerContext,
  type TypedCommand,
} from './handlerKit';
import { cardReply, textReply, type Reply } from '../replies';
import { CONVERSATION_HANDLERS } from './conversationHandlers';
import { MEMBER_HANDLERS } from './memberHandlers';
import { ACTION_HANDLERS } from './actionHandlers';

export {
  HELP_HEADINGS,
  NOT_UNDERSTOOD,
  type Clicked,
  type Handler,
  type HandlerContext,
  type HelpHeading,
  type TypedCommand,
} from './handlerKit';

/**
 * The one handler table: every typed command and every card verb is an entry here. Typed text reaches an
 * entry's `typed.run` (the words after its phrase); a card button, through Action.Submit or Action.Execute,
 * reaches `clicked` of the entry named by its verb. The command parser, the help card and the manifest's
 * command menu are derived from the `typed` entries (src/teams/input/commands.ts), in table order.
 */

const shortHelp = (ctx: HandlerContext): Reply => cardReply(buildShortHelpCard({ tasks: ctx.help.tasks() }));

export const HANDLERS = {
  newGroup: {
    typed: {
      phrase: 'new group',
      heading: 'Start',
      aliases: ['create group', 'newgroup'],
      args: '[name]',
      rest: 'text',
      help: 'Create a group. The bot asks for the name and an optional photo.',
      manifest: { title: 'new group', description: 'Create a group for your team, then invite people with a link' },
      run: async (ctx, args) => {
        await ctx.beginCreateGroup({ name: args || undefined });
        return { cards: [] };
      },
    },
  },
  createGroup: {
    dialog: true,
    clicked: async (ctx) => {
      await ctx.beginCreateGroup({});
      return { cards: [] };
    },
  },
  skipPhoto: {
    dialog: true,
    clicked: async () => textReply('That question was already answered. Type **new group** to create another group.'),
  },
  myGroups: {
    typed: {
      phrase: 'my groups',
      heading: 'Start',
      aliases: ['groups', 'mygroups'],
      args: '',
      rest: 'none',
      help: 'List the groups you belong to.',
      manifest: { title: 'my groups', description: 'List the groups you belong to' },
      run: (ctx) => ctx.actions.myGroups(ctx.req),
    },
    clicked: (ctx, data) => ctx.actions.myGroups(ctx.req, tokenOf(data)),
  },
  myGroupsPage: { clicked: (ctx, data) => ctx.actions.myGroups(ctx.req, tokenOf(data)) },
  groupInfo: {
    typed: groupCommand(
      {
        phrase: 'group',
        heading: 'Start',
        aliases: ['group info'],
        args: '[name or id]',
        rest: 'group',
        help: "Show a group's info: members, admins, owner, and what you can do.",
        manifest: { title: 'group', description: "Show a group's info: type 'group' and the group's name" },
      },
      (ctx, id) => ctx.actions.groupInfo(ctx.req, id),
    ),
  },
  showGroupInfo: { clicked: groupButton((ctx, id) => ctx.actions.groupInfo(ctx.req, id)) },
  invite: {
    typed: groupCommand(
      {
        phrase: 'invite',
        heading: 'Bring people in',
        aliases: ['invite people'],
        args: '[group]',
        rest: 'group',
        help: 'Get the invite link, join code and QR code, with buttons to share them.',
        manifest: { title: 'invite', description: 'Get the invite link and QR code to share in WhatsApp, Telegram, SMS, email or Teams' },
      },
      (ctx, id) => ctx.actions.invite(ctx.req, id),
    ),
  },
  showInvite: { clicked: groupButton((ctx, id) => ctx.actions.invite(ctx.req, id)) },
  join: {
    idempotent: true,
    typed: {
      phrase: 'join',
      heading: 'Bring people in',
      aliases: [],
      args: '<link or code>',
      rest: 'invite',
      help: 'Join a group with its invite link or join code.',
      manifest: { title: 'join', description: 'Join a group: paste the invite link or type the join code' },
      run: (ctx, args) => join(ctx, args),
    },
  },
  addPeople: {
    typed: groupCommand(
      {
        phrase: 'add people',
        heading: 'Bring people in',
        aliases: ['bulk add'],
        args: '[group]',
        rest: 'group',
        unresolved: 'ask',
        help: 'Add up to 50 people by their work email addresses; you see what would happen first (group admins).',
      },
      (ctx, id) => (ctx.bulkAdd ? ctx.bulkAdd.start(ctx.req, id, orgAdminCheck(ctx)) : Promise.resolve(textReply(NOT_UNDERSTOOD))),
      // Not one of theirs: a group of their organization, for an organization admin (signed in first if need be).
      async (ctx, name, notFound) =>
        ctx.bulkAdd && ctx.organization.addPeople ? ctx.organization.addPeople(ctx.turn, ctx.req, name, notFound) : notFound,
    ),
  },
  checkBulkList: { clicked: bulkAddButton((flow, ctx, data) => flow.check(ctx.req, data, orgAdminCheck(ctx))) },
  confirmBulkAdd: {
    confirmation: true,
    clicked: bulkAddButton((flow, ctx, data) =>
      flow.confirm(ctx.req, data, { serviceUrl: ctx.turn.activity.serviceUrl }, orgAdminCheck(ctx)),
    ),
  },
  joinGroup: { idempotent: true, clicked: (ctx, data) => join(ctx, String(data.inviteCode ?? data.token ?? '')) },
  // Members and their roles, in their place in the table (help and menu order).
  ...MEMBER_HANDLERS,
  settings: {
    typed: {
      phrase: 'settings',
      heading: 'Run the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: 'Who can post, and whether new members see earlier posts (group admins).',
      run: (ctx, args) => withPosts(ctx, (posts) => withGroup(ctx, args, (id) => posts.settings(ctx.req, id))),
    },
  },
  saveSettings: { clicked: postButton((posts, ctx, groupId, data) => posts.saveSettings(ctx.req, groupId, data)) },
  resetLink: {
    typed: groupCommand(
      {
        phrase: 'reset link',
        heading: 'Run the group',
        aliases: ['reset invite link', 'resetlink'],
        args: '[group]',
        rest: 'group',
        unresolved: 'ask',
        help: 'Revoke the invite link and make a new one (group admins).',
      },
      (ctx, id) => ctx.actions.askResetLink(ctx.req, id),
    ),
    clicked: groupButton((ctx, id) => ctx.actions.askResetLink(ctx.req, id)),
  },
  confirmResetLink: {
    confirmation: true,
    clicked: (ctx, data) => ctx.actions.resetLink(ctx.req, groupIdOf(data), typeof data.linkTag === 'string' ? data.linkTag : undefined),
  },
  leave: {
    // Asks first; the confirmation card's button leaves.
    typed: groupCommand(
      {
        phrase: 'leave',
        heading: 'Run the group',
        aliases: ['leave group'],
        args: '[group]',
        rest: 'group',
        help: 'Leave a group (you are asked to confirm).',
      },
      (ctx, id) => ctx.actions.askLeave(ctx.req, id),
    ),
  },
  leaveGroup: { clicked: groupButton((ctx, id) => ctx.actions.askLeave(ctx.req, id)) },
  confirmLeave: { confirmation: true, clicked: groupButton((ctx, id) => ctx.actions.leave(ctx.req, id)) },
  deleteGroup: { clicked: groupButton((ctx, id) => ctx.actions.askDelete(ctx.req, id)) },
  confirmDelete: { confirmation: true, clicked: groupButton((ctx, id) => ctx.actions.deleteGroup(ctx.req, id)) },
  addToOrganization: {
    typed: groupCommand(
      {
        phrase: 'add to organization',
        heading: 'Hand it to your organization',
        aliases: ['add to org', 'add to organisation'],
        args: '[group]',
        rest: 'group',
        unresolved: 'ask',
        help: 'Make your organization the owner of the group; you sign in with your work account (group admins).',
        manifest: {
          title: 'add to organization',
          description: 'Make your organization the owner of a group (group admins; you sign in with your work account)',
        },
      },
      (ctx, id) => ctx.organization.start(ctx.turn, ctx.req, id),
    ),
    clicked: groupButton((ctx, id) => ctx.organization.start(ctx.turn, ctx.req, id)),
  },
  orgGroups: {
    typed: {
      phrase: 'org groups',
      heading: 'Organization admins',
      aliases: ['organization groups', 'organisation groups'],
      args: '',
      rest: 'none',
      help: "List all of your organization's groups (organization admins).",
      run: (ctx) => ctx.organization.orgGroups(ctx.turn, ctx.req),
    },
  },
  orgGroupsPage: { clicked: (ctx, data) => ctx.organization.orgGroups(ctx.turn, ctx.req, tokenOf(data)) },
  export: {
    typed: {
      phrase: 'export',
      heading: 'Organization admins',
      aliases: [],
      args: '<group>',
      rest: 'orgGroup',
      unresolved: 'ask',
      help: "Export a group's members and history (organization admins).",
      run: (ctx, args) => ctx.organization.exportGroup(ctx.turn, ctx.req, args, ctx.postIt),
    },
  },
  exportGroup: { clicked: groupButton((ctx, id) => ctx.organization.exportGroup(ctx.turn, ctx.req, id)) },
  poster: {
    typed: groupCommand(
      {
        phrase: 'poster',
        heading: 'Bring people in',
        aliases: [],
        args: '[group]',
        rest: 'group',
        help: 'Download a poster that asks everyone to move to the group, with its link and QR code.',
        manifest: { title: 'poster', description: 'Download a poster asking everyone to move to the group, with its link and QR code' },
      },
      (ctx, id) => ctx.documents.documents(ctx.req, id, 'poster'),
    ),
    clicked: groupButton((ctx, id) => ctx.documents.documents(ctx.req, id, 'poster')),
  },
  email: {
    typed: groupCommand(
      {
        phrase: 'email',
        heading: 'Bring people in',
        aliases: ['e-mail'],
        args: '[group]',
        rest: 'group',
        help: 'Get an email template that asks everyone to move to the group.',
        manifest: { title: 'email', description: 'Get an email template asking everyone to move to the group' },
      },
      (ctx, id) => ctx.documents.documents(ctx.req, id, 'email'),
    ),
    clicked: groupButton((ctx, id) => ctx.documents.documents(ctx.req, id, 'email')),
  },
  saveDocumentDetails: {
    clicked: (ctx, data) => {
      const { documents, req } = ctx;
      return documents.saveDetails
        ? documents.saveDetails(req, groupIdOf(data), data)
        : documents.documents(req, groupIdOf(data), data.kind === 'email' ? 'email' : 'poster');
    },
  },
  help: {
    typed: {
      phrase: 'help',
      aliases: ['?', 'commands'],
      args: '',
      rest: 'none',
      help: 'Show this list.',
      manifest: { title: 'help', description: 'What the bot does and the commands you can use' },
      run: async (ctx) => shortHelp(ctx),
    },
    // The short card's "All commands" button asks for the details.
    clicked: async (ctx, data) => (data.details === true ? cardReply(buildHelpCard({ commands: ctx.help.entries() })) : shortHelp(ctx)),
  },
  cancel: {
    typed: {
      phrase: 'cancel',
      aliases: ['stop'],
      args: '',
      rest: 'none',
      help: 'Stop what you are doing (for example creating a group).',
      run: async () => textReply('There is nothing to cancel.'),
    },
    confirmation: true,
    clicked: async () => textReply('Cancelled. Nothing was changed.'),
  },
  // The group conversation's commands and buttons (issue 10), last in help and menu order.
  ...CONVERSATION_HANDLERS,
  // Announcements and polls (issue 19).
  ...ACTION_HANDLERS,
} satisfies Record<string, Handler>;

type Table = typeof HANDLERS;

/** The typed commands: the table's entries with a `typed` part. */
export type CommandName = { [K in keyof Table]: Table[K] extends { typed: TypedCommand } ? K : never }[keyof Table];

/** Every command has its typed part, and every card verb its click handler (checked by the compiler). */
const BY_COMMAND: Record<CommandName, Handler & { typed: TypedCommand }> = HANDLERS;
const BY_VERB: Record<CardVerb, Handler & { clicked: Clicked }> = HANDLERS;

/** The table's typed commands in table order (the help card's and the manifest menu's order). */
export const TYPED_COMMANDS: ReadonlyArray<{ name: CommandName } & TypedCommand> = (Object.keys(HANDLERS) as Array<keyof Table>).flatMap(
  (key) => {
    const typed = (HANDLERS[key] as Handler).typed;
    return typed ? [{ name: key as CommandName, ...typed }] : [];
  },
);

export function commandHandler(name: CommandName): TypedCommand {
  return BY_COMMAND[name].typed;
}

export function verbHandler(verb: CardVerb): Handler & { clicked: Clicked } {
  return BY_VERB[verb];
}

/** The entry a turn's input reaches: a typed command's or a clicked verb's; none for other input. */
export function handlerOf(input: TurnInput): Handler | undefined {
  if (input.kind === 'command') return BY_COMMAND[input.command];
  if (input.kind === 'action') return BY_VERB[input.verb];
  return undefined;
}

/** A turn whose entry is idempotent by construction (see Handler.idempotent): a join by link, code or button. */
export function isIdempotentRequest(input: TurnInput): boolean {
  return handlerOf(input)?.idempotent === true;
}
