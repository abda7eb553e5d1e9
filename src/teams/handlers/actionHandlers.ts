/**
 * Announcements and polls' entries of the handler table (issue 19): `announce` and `poll` (typed, or the Group
 * Info buttons), the forms' Send, and the card's buttons. Every answer works as Action.Submit (a message; the
 * clicked card is replaced in place) and as Action.Execute (the invoke's answer is the new card).
 */
import type { ActionsFlow } from './actionsFlow';
import { groupCommand, groupIdOf, NOT_UNDERSTOOD, type Clicked, type Handler, type HandlerContext } from './handlerKit';
import { textReply, type Reply } from '../replies';
import type { CardData } from '../../../cards/verbs';

const NOT_HERE = 'That button does not work here.';

function withFlow(ctx: HandlerContext, run: (flow: ActionsFlow) => Promise<Reply>, missing = NOT_UNDERSTOOD): Promise<Reply> {
  return ctx.announcements ? run(ctx.announcements) : Promise.resolve(textReply(missing));
}

const actionButton =
  (run: (flow: ActionsFlow, ctx: HandlerContext, data: CardData) => Promise<Reply>): Clicked =>
  (ctx, data) =>
    withFlow(ctx, (flow) => run(flow, ctx, data), NOT_HERE);

export const ACTION_HANDLERS = {
  announce: {
    typed: groupCommand(
      {
        phrase: 'announce',
        heading: 'Talk in the group',
        aliases: ['announcement', 'new announcement'],
        args: '[group]',
        rest: 'group',
        help: 'Send an announcement members confirm with Got it; you see who has not.',
      },
      (ctx, groupId) => withFlow(ctx, (flow) => flow.form(ctx.req, groupId, 'announcement')),
    ),
  },
  poll: {
    typed: groupCommand(
      {
        phrase: 'poll',
        heading: 'Talk in the group',
        aliases: ['new poll'],
        args: '[group]',
        rest: 'group',
        help: 'Ask the group a quick question with 2 to 10 options, named or anonymous.',
      },
      (ctx, groupId) => withFlow(ctx, (flow) => flow.form(ctx.req, groupId, 'poll')),
    ),
  },
  newAnnouncement: { clicked: actionButton((flow, ctx, data) => flow.form(ctx.req, groupIdOf(data), 'announcement')) },
  newPoll: { clicked: actionButton((flow, ctx, data) => flow.form(ctx.req, groupIdOf(data), 'poll')) },
  // A redelivered Send finds the action and the post it made (both keyed by the activity): safe twice.
  createAnnouncement: { clicked: actionButton((flow, ctx, data) => flow.create(ctx.turn, ctx.req, data, 'announcement')) },
  createPoll: { clicked: actionButton((flow, ctx, data) => flow.create(ctx.turn, ctx.req, data, 'poll')) },
  // Answers are idempotent per (action, member) in the store: a redelivery or a double tap counts once.
  confirmAction: { idempotent: true, replacesCard: true, clicked: actionButton((flow, ctx, data) => flow.confirm(ctx.req, data)) },
  voteAction: { idempotent: true, replacesCard: true, clicked: actionButton((flow, ctx, data) => flow.vote(ctx.req, data)) },
  refreshAction: {
    idempotent: true,
    replacesCard: true,
    clicked: actionButton((flow, ctx, data) => flow.card(ctx.req, groupIdOf(data), String(data.actionId ?? ''))),
  },
  notAnsweredPage: { idempotent: true, clicked: actionButton((flow, ctx, data) => flow.notAnswered(ctx.req, data)) },
  // At most once per window per action, whatever the number of taps or instances.
  remindAction: { idempotent: true, clicked: actionButton((flow, ctx, data) => flow.remind(ctx.req, data)) },
  closePoll: { idempotent: true, replacesCard: true, clicked: actionButton((flow, ctx, data) => flow.closePoll(ctx.req, data, ctx.turn)) },
} satisfies Record<string, Handler>;
