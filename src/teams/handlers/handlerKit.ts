/** The shape of the handler table's entries (src/teams/handlers/handlers.ts) and the helpers its entries share. */
import type { TurnContext } from 'botbuilder';
import { isAppError } from '../../errors';
import type { CommandRest } from '../../groups/messageRule';
import { splitMemberAndGroup } from '../input/commandArgs';
import type { CardData } from '../../../cards/verbs';
// Types only: commands.ts reads the handler table while loading, so nothing here may load turnInput.ts (a cycle).
import type { CreateGroupOptions } from '../../../dialogs/createGroupDialog';
import type { DocumentsFlow, JoinAttemptLimiter, OrganizationFlow } from '../conversation';
import type { GroupActions, Requester } from './groupActions';
import type { PostsFlow } from './postsFlow';
import type { BulkAddFlow } from './bulkAddFlow';
import type { ActionsFlow } from './actionsFlow';
import { textReply, type Reply } from '../replies';

/** What a handler gets for one turn: who asks, the services, and the turn's dialogs. */
export interface HandlerContext {
  readonly turn: TurnContext;
  readonly req: Requester;
  readonly actions: GroupActions;
  readonly organization: OrganizationFlow;
  readonly documents: DocumentsFlow;
  readonly joinLimiter: JoinAttemptLimiter;
  readonly posts?: PostsFlow;
  /** Bulk add from a pasted list (issue 18); absent where the app was built without it. */
  readonly bulkAdd?: BulkAddFlow;
  /** Announcements and polls (issue 19); absent where the app was built without them. */
  readonly announcements?: ActionsFlow;
  /** The help card's content (derived from the handler table in src/teams/input/commands.ts). */
  readonly help: {
    entries(): Array<{ usage: string; description: string }>;
    tasks(): Array<{ task: string; usages: string[] }>;
  };
  /**
   * The typed message's Post it offer (src/teams/handlers/postsFlow.ts), for a command whose words may only be
   * checked later: `export <group>` resolves once signed in, and shows it when the name finds nothing.
   */
  readonly postIt?: Reply;
  /** Starts "new group" (createGroupDialog.ts); its questions come in this turn's reply. */
  beginCreateGroup(options: CreateGroupOptions): Promise<void>;
}

/** The short help's headings, in the order it shows them: what people want to do. */
export const HELP_HEADINGS = [
  'Start',
  'Bring people in',
  'Talk in the group',
  'Run the group',
  'Hand it to your organization',
  'Organization admins',
] as const;
export type HelpHeading = (typeof HELP_HEADINGS)[number];

/** A typed command: its words, its line in the help card, its place in the manifest's menu, and what it does. */
export interface TypedCommand {
  /** The canonical words, lower case. */
  readonly phrase: string;
  /** Other accepted words, lower case. */
  readonly aliases: readonly string[];
  /** How the arguments are written in help: `[optional]`, `<required>`; '' for none. */
  readonly args: string;
  /**
   * What the arguments name, for the posts rule (src/groups/messageRule.ts): with a current group, the command
   * with arguments runs only when they resolve.
   */
  readonly rest: CommandRest;
  /**
   * 'ask' for an admin's command: arguments that do not resolve get "nobody called ..." with a Post it button,
   * never a post unasked. Absent: such a message is a post (a sentence often starts with the word).
   */
  readonly unresolved?: 'ask';
  /** One line for the help card. */
  readonly help: string;
  /** The short help's heading it is listed under (in table order); absent: only in the full list. */
  readonly heading?: HelpHeading;
  /** Present when the command appears in the manifest's command menu (at most 10 per scope). */
  readonly manifest?: { readonly title: string; readonly description: string };
  /** `args` is the text after the phrase, trimmed ('' for none). */
  run(ctx: HandlerContext, args: string): Promise<Reply>;
}

export type Clicked = (ctx: HandlerContext, data: CardData) => Promise<Reply>;

export interface Handler {
  /** Present when users can type it. */
  readonly typed?: TypedCommand;
  /** Present when the entry's key is a card verb (cards/verbs.ts): the button's flat data. */
  readonly clicked?: Clicked;
  /** A confirmation card's button: the clicked card is retired so it cannot be clicked twice. */
  readonly confirmation?: true;
  /** A button of the running dialog's own question: it answers the question instead of interrupting. */
  readonly dialog?: true;
  /**
   * Safe to run twice by construction (a join: a second insert of the member row is refused by the store, so a
   * redelivery joins nobody twice and tells no admin twice), and never an answer to a dialog's question: such
   * a turn takes no redelivery lease and reads no dialog state, two storage round trips less on the path
   * thousands take at once when a link is shared.
   */
  readonly idempotent?: true;
  /**
   * The answer's first card takes the clicked card's place: as the invoke's answer for Action.Execute, and with
   * an update of the clicked message for Action.Submit (an announcement's card becomes "You confirmed at ...").
   */
  readonly replacesCard?: true;
}

export const NOT_UNDERSTOOD = "Sorry, I didn't get that. Type **help** to see what I can do, or **new group** to start.";

const NO_POST_BUTTON = 'That button does not work here.';

/** The group named (without a name: the member's current group, when they have one), or why there is none. */
export function groupNamed(ctx: HandlerContext, name: string): Promise<{ groupId: string } | { reply: Reply }> {
  return ctx.posts ? ctx.posts.groupFor(ctx.req, name) : ctx.actions.resolveGroup(ctx.req, name);
}

/** Runs `run` on the group named (or the current one), or answers why there is none. */
export async function withGroup(ctx: HandlerContext, name: string, run: (groupId: string) => Promise<Reply>): Promise<Reply> {
  const resolved = await groupNamed(ctx, name);
  return 'reply' in resolved ? resolved.reply : run(resolved.groupId);
}

/** `make admin <member> [in <group>]` and the like: the member found by name in the group (or the current one). */
export function onMember(
  separator: 'from' | 'in',
  act: (ctx: HandlerContext, groupId: string, memberId: string) => Promise<Reply>,
): TypedCommand['run'] {
  return (ctx, args) => {
    const { member, group } = splitMemberAndGroup(args, separator);
    return withGroup(ctx, group ?? '', async (id) => act(ctx, id, (await ctx.actions.findMember(ctx.req, id, member)).user.id));
  };
}

/** A join by link or code; only wrong links and codes count against the limit, not a join refused otherwise. */
export async function join(ctx: HandlerContext, reference: string): Promise<Reply> {
  await ctx.joinLimiter.check(ctx.req.user.id);
  try {
    return await ctx.actions.join(ctx.req, reference);
  } catch (err) {
    if (isAppError(err) && (err.code === 'not_found' || err.code === 'invalid_input')) {
      await ctx.joinLimiter.failed(ctx.req.user.id);
    }
    throw err;
  }
}

/** A command of the group conversation (issue 10): not understood where there is none. */
export function withPosts(ctx: HandlerContext, run: (posts: PostsFlow) => Promise<Reply>): Promise<Reply> {
  return ctx.posts ? run(ctx.posts) : Promise.resolve(textReply(NOT_UNDERSTOOD));
}

/** A button of the group conversation: "does not work here" where there is none. */
export function postButton(run: (posts: PostsFlow, ctx: HandlerContext, groupId: string, data: CardData) => Promise<Reply>): Clicked {
  return (ctx, data) => (ctx.posts ? run(ctx.posts, ctx, groupIdOf(data), data) : Promise.resolve(textReply(NO_POST_BUTTON)));
}

/** A bulk add button: "does not work here" where bulk add is not wired. */
export function bulkAddButton(run: (flow: BulkAddFlow, ctx: HandlerContext, data: CardData) => Promise<Reply>): Clicked {
  return (ctx, data) => (ctx.bulkAdd ? run(ctx.bulkAdd, ctx, data) : Promise.resolve(textReply(NO_POST_BUTTON)));
}

export const groupIdOf = (data: CardData): string => String(data.groupId ?? '');
export const userIdOf = (data: CardData): string => String(data.userId ?? '');
export const tokenOf = (data: CardData): string | undefined =>
  typeof data.continuationToken === 'string' ? data.continuationToken : undefined;

/** A `[group]` command that runs one group action. */
export function groupCommand(
  spec: Omit<TypedCommand, 'run'>,
  run: (ctx: HandlerContext, groupId: string) => Promise<Reply>,
  /** A name that finds none of the user's groups: another place to look (the answer `notFound` otherwise). */
  elsewhere?: (ctx: HandlerContext, name: string, notFound: Reply) => Promise<Reply>,
): TypedCommand {
  return {
    ...spec,
    run: async (ctx, args) => {
      const resolved = await groupNamed(ctx, args);
      if ('groupId' in resolved) return run(ctx, resolved.groupId);
      return elsewhere && args.trim() ? elsewhere(ctx, args.trim(), resolved.reply) : resolved.reply;
    },
  };
}

/** Whether the person is an organization admin, by a sign-in verified already (never a prompt): their tenant. */
export const orgAdminCheck = (ctx: HandlerContext) => () => ctx.organization.orgAdminTenant?.(ctx.turn) ?? Promise.resolve(undefined);

/** A button that runs one group action on the group it carries. */
export const groupButton =
  (run: (ctx: HandlerContext, groupId: string) => Promise<Reply>): Clicked =>
  (ctx, data) =>
    run(ctx, groupIdOf(data));
