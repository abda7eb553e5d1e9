/**
 * Announcements and polls in the chat (issue 19): the forms, creating one (a post of the group), each member's
 * card (answer, refresh on view), and the admins' buttons (who hasn't, remind, close). Thin: the rules are
 * ActionService's, the post goes through ActionPosts (ConversationService), reminders through the engine.
 */
import type { TurnContext } from 'botbuilder';
import type { ActionPosts } from '../../actions/actionPosts';
import { CLOSED_POLL, type ActionService, type ActionView } from '../../actions/actionService';
import type { GroupAction } from '../../actions/model';
import type { DeliveryEngine, FanoutSource } from '../../delivery/ports';
import { isAppError, ForbiddenError, InvalidInputError } from '../../errors';
import type { ConversationService } from '../../groups/conversationService';
import type { Logger } from '../../logger';
import { instantOf } from '../../import/timeZone';
import type { BackgroundWork } from '../proactive';
import { buildActionActivity, buildActionCard, buildNotAnsweredCard, type ActionCardData } from '../../../cards/actionCard';
import { buildAnnouncementForm, buildFormSentCard, buildPollForm, MAX_POLL_OPTIONS } from '../../../cards/actionForms';
import type { CardData } from '../../../cards/verbs';
import { inline } from '../../../cards/text';
import { cardReply, type Reply } from '../replies';
import type { Requester } from './groupActions';
import { postSenderOf, postSourceKey } from './postsFlow';

export interface ActionsFlowDependencies {
  service: ActionService;
  posts: ActionPosts;
  conversation: Pick<ConversationService, 'settings'>;
  recipients: Pick<FanoutSource, 'getRecipient'>;
  engine: Pick<DeliveryEngine, 'sendOneOff'>;
  background: Pick<BackgroundWork, 'run'>;
  /** A signed link to the CSV report, for admins and the creator. */
  reportUrl?: (groupId: string, actionId: string, user: { id: string; name: string }) => string;
  logger: Logger;
}

const PAGE_SIZE = 25;
const ACTION_TTL_MS = 1_000;
const DEFAULT_ZONE = 'UTC';

const text = (data: CardData, key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : String(data[key] ?? ''));
const idsOf = (data: CardData) => ({ groupId: text(data, 'groupId'), actionId: text(data, 'actionId') });

export class ActionsFlow {
  private readonly actionCache = new Map<string, { at: number; value: Promise<GroupAction | undefined> }>();

  constructor(private readonly deps: ActionsFlowDependencies) {}

  /** `announce` / `poll`, or the Group Info button: the form, for those who may post in the group. */
  async form(req: Requester, groupId: string, kind: 'announcement' | 'poll'): Promise<Reply> {
    const { groupName, settings, viewerIsAdmin } = await this.deps.conversation.settings(groupId, req.user.id);
    if (settings.onlyAdminsPost && !viewerIsAdmin) throw new ForbiddenError(`Only admins can post in ${groupName}.`);
    return cardReply(kind === 'poll' ? buildPollForm({ groupId, groupName }) : buildAnnouncementForm({ groupId, groupName }));
  }

  /** The form's Send: keeps the action and posts it to the group; the sender gets their own card with the counts. */
  async create(turn: TurnContext, req: Requester, data: CardData, kind: 'announcement' | 'poll'): Promise<Reply> {
    const activity = turn.activity;
    const groupId = text(data, 'groupId');
    const sender = postSenderOf(activity);
    const sourceKey = postSourceKey(activity.conversation.id, activity.id ?? '');
    const zone = typeof activity.localTimezone === 'string' && activity.localTimezone ? activity.localTimezone : DEFAULT_ZONE;
    const published =
      kind === 'announcement'
        ? await this.deps.posts.announce(
            {
              groupId,
              title: text(data, 'title'),
              text: text(data, 'text'),
              askConfirm: text(data, 'askConfirm') !== 'false',
              dueAt: wallClock(text(data, 'dueDate'), text(data, 'dueTime'), zone),
            },
            sender,
            sourceKey,
          )
        : await this.deps.posts.poll(
            {
              groupId,
              question: text(data, 'question'),
              options: Array.from({ length: MAX_POLL_OPTIONS }, (_, i) => text(data, `option${i + 1}`)),
              multi: text(data, 'multi') === 'true',
              anonymous: text(data, 'anonymous') === 'true',
              resultsFor: text(data, 'resultsFor') === 'admins' ? 'admins' : 'everyone',
              closesAt: wallClock(text(data, 'closeDate'), text(data, 'closeTime'), zone),
            },
            sender,
            sourceKey,
          );
    const view = await this.deps.service.view(groupId, published.action.actionId, req.user);
    await this.retireForm(turn, kind, view);
    const what = kind === 'poll' ? 'voted' : 'confirmed';
    return {
      text: `Sent to everyone in **${inline(view.groupName ?? '')}**. Your copy below shows who ${what}.`,
      cards: [buildActionCard(this.cardData(view, req.user))],
    };
  }

  /**
   * The form that was sent (Action.Submit: Teams names its message) becomes a line saying what went where, so it
   * cannot be edited or sent again. (Through Action.Execute the answer's card takes its place anyway.) A client
   * that does not let the card be updated keeps it; a second Send of it finds the action the first one made.
   */
  private async retireForm(turn: TurnContext, kind: 'announcement' | 'poll', view: ActionView): Promise<void> {
    const formId = turn.activity.replyToId;
    if (!formId || turn.activity.type !== 'message') return;
    const title = view.action.kind === 'poll' ? view.action.question : view.action.title;
    try {
      await turn.updateActivity({
        id: formId,
        type: 'message',
        attachments: [buildFormSentCard({ kind, groupName: view.groupName ?? '', title })],
      });
    } catch (err) {
      this.deps.logger.info({ err: (err as Error).message, activityId: turn.activity.id }, 'could not retire a sent form');
    }
  }

  /** This member's card as it is now (after an answer, on refresh, for the sender). */
  async card(req: Requester, groupId: string, actionId: string, notice?: string): Promise<Reply> {
    const view = await this.deps.service.view(groupId, actionId, req.user);
    return cardReply(buildActionCard(this.cardData(view, req.user, notice)));
  }

  /** Got it. A second tap, a redelivery or another device changes nothing. */
  async confirm(req: Requester, data: CardData): Promise<Reply> {
    const { groupId, actionId } = idsOf(data);
    return this.answering(req, groupId, actionId, () => this.deps.service.confirmAndView(groupId, actionId, req.user));
  }

  /** A vote: the chosen option indexes ("0" or "0,2"). */
  async vote(req: Requester, data: CardData): Promise<Reply> {
    const { groupId, actionId } = idsOf(data);
    const raw = text(data, 'choice').trim();
    const choices = raw === '' ? [] : raw.split(',').map((c) => (/^\d{1,2}$/.test(c.trim()) ? Number(c.trim()) : -1));
    return this.answering(req, groupId, actionId, () => this.deps.service.voteAndView(groupId, actionId, req.user, choices));
  }

  async closePoll(req: Requester, data: CardData, turn: TurnContext): Promise<Reply> {
    const { groupId, actionId } = idsOf(data);
    await this.deps.posts.close(groupId, actionId, postSenderOf(turn.activity));
    return this.card(req, groupId, actionId, 'Closed. The results went to the group.');
  }

  async notAnswered(req: Requester, data: CardData): Promise<Reply> {
    const { groupId, actionId } = idsOf(data);
    const skip = Math.max(0, Math.floor(Number(data.skip ?? 0)) || 0);
    const search = text(data, 'search').trim() || undefined;
    const found = await this.deps.service.notAnswered(groupId, actionId, req.user, { search, skip, limit: PAGE_SIZE });
    return cardReply(
      buildNotAnsweredCard({
        groupId,
        actionId,
        title: titleOf(found.action),
        verb: found.action.kind === 'poll' ? 'voted' : 'confirmed',
        people: found.people,
        matching: found.matching,
        total: found.total,
        skip,
        ...(search ? { search } : {}),
        pageSize: PAGE_SIZE,
      }),
    );
  }

  /**
   * A reminder to each member who has not answered, through the engine, at most once per window per action.
   * Crash-safe: the window counts as used only once every reminder is with the engine (`reminded`); until then
   * a second Remind gets the same round back and hands them over again under the same keys (the engine sends a
   * key once), so the members the dead instance reached hear nothing twice and the rest are reached.
   */
  async remind(req: Requester, data: CardData): Promise<Reply> {
    const { groupId, actionId } = idsOf(data);
    const { round, people } = await this.deps.service.remind(groupId, actionId, req.user);
    const action = await this.deps.service.get(groupId, actionId, req.user);
    const { groupName } = await this.deps.conversation.settings(groupId, req.user.id);
    const roundKey = Date.parse(round);
    this.deps.background.run('send reminders', async () => {
      for (const person of people) {
        const recipient = await this.deps.recipients.getRecipient(groupId, person.id);
        if (!recipient) continue; // left meanwhile
        const card = this.cardData(
          { action, open: true, mayManage: false },
          { id: person.id, name: person.name },
          'Reminder: please answer this.',
        );
        await this.deps.engine.sendOneOff(
          `remind|${groupId}|${actionId}|${person.id}|${roundKey}`,
          recipient,
          buildActionActivity({ ...card, groupName }),
        );
      }
      await this.deps.service.reminded(groupId, actionId, round);
    });
    const what = action.kind === 'poll' ? 'voted' : 'confirmed';
    return { text: `Reminder sent to ${people.length} ${people.length === 1 ? 'member' : 'members'} who have not ${what} yet.`, cards: [] };
  }

  /** The copy the engine delivers to one member (no per-member reads but the managers' counts). */
  async deliveryCopy(group: { groupId: string; name: string; adminIds: readonly string[] }, actionId: string, userId: string) {
    const action = await this.cachedAction(group.groupId, actionId);
    if (!action) return undefined;
    const manager = group.adminIds.includes(userId) || action.createdBy.id === userId;
    const view: ActionView = manager
      ? await this.deps.service.view(group.groupId, actionId, { id: userId, name: '' })
      : { action, open: action.kind === 'announcement' || !action.closedAt, mayManage: false };
    return buildActionActivity({ ...this.cardData(view, { id: userId, name: '' }), groupName: group.name });
  }

  /** One read of an action serves the copies of one fan-out for a moment (thousands of copies, one read). */
  private cachedAction(groupId: string, actionId: string): Promise<GroupAction | undefined> {
    const key = `${groupId}|${actionId}`;
    const hit = this.actionCache.get(key);
    if (hit && Date.now() - hit.at < ACTION_TTL_MS) return hit.value;
    const value = this.deps.service.forDelivery(groupId, actionId);
    value.catch(() => this.actionCache.delete(key));
    this.actionCache.set(key, { at: Date.now(), value });
    if (this.actionCache.size > 1_000) this.actionCache.delete(this.actionCache.keys().next().value!);
    return value;
  }

  private async answering(req: Requester, groupId: string, actionId: string, answer: () => Promise<{ view: ActionView }>): Promise<Reply> {
    try {
      const { view } = await answer();
      return cardReply(buildActionCard(this.cardData(view, req.user)));
    } catch (err) {
      // Refusals of an answer (closed, final, no such option) come back on the card itself, as one line.
      if (isAppError(err) && (err.code === 'forbidden' || err.code === 'invalid_input') && !/not a member/.test(err.userMessage)) {
        const view = await this.deps.service.view(groupId, actionId, req.user);
        // "This poll is closed." is on the closed card already: once is enough.
        const notice = !view.open && err.userMessage === CLOSED_POLL ? undefined : err.userMessage;
        return cardReply(buildActionCard(this.cardData(view, req.user, notice)));
      }
      throw err;
    }
  }

  private cardData(view: ActionView, user: { id: string; name: string }, notice?: string): ActionCardData {
    const a = view.action;
    return {
      groupId: a.groupId,
      groupName: view.groupName ?? '',
      actionId: a.actionId,
      senderName: a.createdBy.name,
      createdAt: a.createdAt,
      open: view.open,
      ...(a.kind === 'announcement'
        ? { announcement: { title: a.title, text: a.text, askConfirm: a.askConfirm, ...(a.dueAt ? { dueAt: a.dueAt } : {}) } }
        : {
            poll: {
              question: a.question,
              options: a.options,
              multi: a.multi,
              anonymous: a.anonymous,
              resultsFor: a.resultsFor,
              ...(a.closesAt ? { closesAt: a.closesAt } : {}),
              ...(a.closedAt ? { closedAt: a.closedAt } : {}),
            },
          }),
      ...(view.mine ? { mine: view.mine } : {}),
      ...(view.results ? { results: view.results } : {}),
      ...(view.mayManage
        ? {
            manage: {
              memberCount: view.memberCount ?? 0,
              ...(this.deps.reportUrl ? { reportUrl: this.deps.reportUrl(a.groupId, a.actionId, user) } : {}),
            },
          }
        : {}),
      ...(notice ? { notice } : {}),
    };
  }
}

function titleOf(action: GroupAction): string {
  return action.kind === 'poll' ? action.question : action.title;
}

/** A date and time typed on a card (the reader's wall clock) as an instant; undefined when none was typed. */
function wallClock(date: string, time: string, zone: string): string | undefined {
  if (!date.trim()) return undefined;
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date.trim());
  const t = /^(\d{2}):(\d{2})/.exec(time.trim() || '23:59');
  if (!d || !t) throw new InvalidInputError('That date or time is not valid.');
  let timeZone = zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    timeZone = DEFAULT_ZONE;
  }
  const at = instantOf({ year: +d[1]!, month: +d[2]!, day: +d[3]!, hour: +t[1]!, minute: +t[2]!, second: 0 }, timeZone);
  return at.toISOString();
}
