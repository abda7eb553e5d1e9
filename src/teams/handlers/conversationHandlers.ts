/**
 * The group conversation's entries of the handler table (src/teams/handlers/handlers.ts spreads them last, so
 * they come last in the help card and the command menu): switching and opening groups, history, settings,
 * mute, and the post card's buttons.
 */
import { NOT_UNDERSTOOD, postButton, withGroup, withPosts, type Clicked, type HandlerContext, type Handler } from './handlerKit';
import type { ImportFlow } from './importFlow';
import { textReply, type Reply } from '../replies';

/** Importing a chat export (issue 20) rides on the conversation: where there is none, neither is it. */
function withImports(ctx: HandlerContext, run: (imports: ImportFlow) => Promise<Reply>): Promise<Reply> {
  const imports = ctx.posts?.imports;
  return imports ? run(imports) : Promise.resolve(textReply(NOT_UNDERSTOOD));
}

const importButton =
  (run: (imports: ImportFlow, ctx: HandlerContext, data: Parameters<Clicked>[1]) => Promise<Reply>): Clicked =>
  (ctx, data) =>
    withImports(ctx, (imports) => run(imports, ctx, data));

export const CONVERSATION_HANDLERS = {
  switch: {
    typed: {
      phrase: 'switch',
      heading: 'Talk in the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: 'Choose the group your typed messages go to.',
      run: (ctx, args) => withPosts(ctx, (posts) => posts.switchGroup(ctx.req, args)),
    },
  },
  switchGroup: { clicked: postButton((posts, ctx, groupId) => posts.switchTo(ctx.req, groupId)) },
  open: {
    typed: {
      phrase: 'open',
      heading: 'Talk in the group',
      aliases: [],
      args: '<group>',
      rest: 'group',
      help: 'Open a group: its info, and your messages go to it.',
      run: (ctx, args) => withGroup(ctx, args, (id) => (ctx.posts ? ctx.posts.open(ctx.req, id) : ctx.actions.groupInfo(ctx.req, id))),
    },
  },
  openGroup: { clicked: postButton((posts, ctx, groupId) => posts.open(ctx.req, groupId)) },
  history: {
    typed: {
      phrase: 'history',
      heading: 'Talk in the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: "Read a group's earlier posts, 20 at a time.",
      run: (ctx, args) => withPosts(ctx, (posts) => withGroup(ctx, args, (id) => posts.history(ctx.req, id))),
    },
  },
  historyPage: {
    clicked: postButton((posts, ctx, groupId, data) =>
      posts.history(ctx.req, groupId, Number.isInteger(Number(data.before)) ? Number(data.before) : undefined),
    ),
  },
  mute: {
    typed: {
      phrase: 'mute',
      heading: 'Talk in the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: "Stop getting a group's posts (its history stays).",
      run: (ctx, args) => withPosts(ctx, (posts) => withGroup(ctx, args, (id) => posts.mute(ctx.req, id, true))),
    },
  },
  unmute: {
    typed: {
      phrase: 'unmute',
      heading: 'Talk in the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: "Get a group's posts again.",
      run: (ctx, args) => withPosts(ctx, (posts) => withGroup(ctx, args, (id) => posts.mute(ctx.req, id, false))),
    },
  },
  replyToPost: {
    clicked: postButton((posts, ctx, groupId, data) =>
      posts.reply(ctx.turn, groupId, Number(data.seq), typeof data.replyText === 'string' ? data.replyText : ''),
    ),
  },
  // Asks first (issue 17); the confirmation card's button deletes.
  deletePost: { clicked: postButton((posts, ctx, groupId, data) => posts.askDeletePost(ctx.req, groupId, Number(data.seq))) },
  confirmDeletePost: {
    confirmation: true,
    clicked: postButton((posts, ctx, groupId, data) => posts.deletePost(ctx.req, groupId, Number(data.seq))),
  },
  // "Nobody called ... : Post it?" (issue 17): an admin's word that found nothing is posted only when asked.
  postIt: { confirmation: true, clicked: postButton((posts, ctx, groupId, data) => posts.postIt(ctx.turn, groupId, data)) },
  imports: {
    typed: {
      phrase: 'imports',
      heading: 'Run the group',
      aliases: [],
      args: '[group]',
      rest: 'group',
      help: "See a group's imported WhatsApp or Telegram chats, and undo one (admins). To import, send me the exported file.",
      run: (ctx, args) => withImports(ctx, (imports) => withGroup(ctx, args, (id) => imports.list(ctx.req, id))),
    },
  },
  importPreview: { clicked: importButton((imports, ctx, data) => imports.previewAgain(ctx.turn, data)) },
  importConfirm: { clicked: importButton((imports, ctx, data) => imports.confirm(ctx.turn, data)) },
  importedHistoryPage: {
    clicked: importButton((imports, ctx, data) =>
      imports.history(ctx.req, String(data.groupId ?? ''), typeof data.before === 'string' ? data.before : undefined),
    ),
  },
  undoImport: {
    confirmation: true,
    clicked: importButton((imports, ctx, data) => imports.undo(ctx.req, String(data.groupId ?? ''), String(data.importId ?? ''))),
  },
} satisfies Record<string, Handler>;
