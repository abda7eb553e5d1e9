/**
 * The rules of announcements and polls (issue 19) over their store and the group's one membership check:
 * who may create them (admins, and members where members may post), who may answer (members only, while a poll
 * is open, with options that exist), who sees results (everyone after voting or once closed, or admins and
 * the creator only), and the admins' views: who has not answered yet, and a reminder at most once per window.
 * Delivering them is the delivery engine's job; this service knows nothing of Teams.
 */
import { ForbiddenError, InvalidInputError, NotFoundError } from '../errors';
import type { ConversationService } from '../groups/conversationService';
import type { GroupService } from '../groups/groupService';
import type { UserRef } from '../groups/model';
import type { ActionStore, AnswerOutcome, Counter } from './actionStore';
import type { MemberContext } from '../groups/posts';
import {
  checkAnnouncement,
  checkPoll,
  isOpen,
  REMIND_WINDOW_MS,
  type Announcement,
  type GroupAction,
  type NewAnnouncement,
  type NewPoll,
  type Poll,
} from './model';

type Members = Pick<ConversationService, 'requireMember'>;

const NO_ACTION = 'That announcement or poll does not exist.';
/** The line a closed poll's refused answer gets (the card shows the poll closed already). */
export const CLOSED_POLL = 'This poll is closed.';
const SNAPSHOT_MS = 1_000;
/**
 * Answers and card views take the group's name and settings as read at most this long ago on this instance;
 * the member's own row (membership, their role) is read every time.
 */
const GROUP_VIEW_MAX_AGE_MS = 1_000;

/** An answer just written: its counter changes and when (local clock) it was written. */
type Answered = { changes: Array<[Counter, number]>; at: number };

/** A page of the members who have not answered (ids and names), from the group's member list. */
export interface MemberLister {
  members(groupId: string, viewer: UserRef): AsyncIterable<{ id: string; name: string }>;
  /** The group's member count now (exact as of the read). */
  memberCount(groupId: string): Promise<number>;
}

export interface Results {
  /** Counts per option (polls) or confirmations (announcements). */
  counts: number[];
  answered: number;
}

/** Everything one member's card shows: the action, their own answer, the results they may see, their buttons. */
export interface ActionView {
  action: GroupAction;
  open: boolean;
  /** This member's answer (a named poll's choices; an anonymous one's only its time). */
  mine?: { at: string; choices?: number[] };
  results?: Results;
  /** Admins and the creator: who hasn't, remind, report, close. */
  mayManage: boolean;
  groupName?: string;
  /** For the managers: members of the group now (the "of 1,200"). */
  memberCount?: number;
}

export class ActionService {
  private readonly now: () => Date;
  /** Per action: the counters as read lately, for members' "results so far". */
  private readonly snapshots = new Map<string, { startedAt: number; value: Promise<Map<Counter, number>> }>();

  constructor(private readonly deps: { store: ActionStore; members: Members; lister: MemberLister; now?: () => Date }) {
    this.now = deps.now ?? (() => new Date());
  }

  /** `actionId`: derived from the request, so a redelivered request finds the action it made. */
  async announce(input: NewAnnouncement, actionId?: string): Promise<Announcement> {
    await this.requirePoster(input.groupId, input.createdBy.id);
    const checked = checkAnnouncement(input, this.now());
    return (await this.deps.store.create(
      { ...checked, kind: 'announcement', createdAt: this.now().toISOString() },
      actionId,
    )) as Announcement;
  }

  async createPoll(input: NewPoll, actionId?: string): Promise<Poll> {
    await this.requirePoster(input.groupId, input.createdBy.id);
    const checked = checkPoll(input, this.now());
    return (await this.deps.store.create({ ...checked, kind: 'poll', createdAt: this.now().toISOString() }, actionId)) as Poll;
  }

  /** "Got it" on an announcement: once per member (a second tap changes nothing). */
  async confirm(groupId: string, actionId: string, user: UserRef): Promise<AnswerOutcome> {
    return (await this.confirmAndView(groupId, actionId, user)).outcome;
  }

  /** `confirm`, and this member's card after it (from the counters the answer read: no second read). */
  async confirmAndView(groupId: string, actionId: string, user: UserRef): Promise<{ outcome: AnswerOutcome; view: ActionView }> {
    const { context, action } = await this.load(groupId, actionId, user.id);
    if (action.kind !== 'announcement' || !action.askConfirm) throw new InvalidInputError('This announcement asks nobody to confirm.');
    const at = this.now().toISOString();
    const { outcome, changes } = await this.deps.store.record(groupId, actionId, user.id, { named: true, at });
    if (outcome === 'closed') throw new ForbiddenError(CLOSED_POLL);
    const answered = changes && { changes, at: Date.now() };
    const mine = outcome === 'counted' ? { at } : await this.deps.store.answerOf(groupId, actionId, user.id);
    return { outcome, view: await this.viewOf(context, action, user, mine, answered) };
  }

  /** A vote: option indexes; a named vote may change until the poll closes, an anonymous one is final. */
  async vote(groupId: string, actionId: string, user: UserRef, choices: readonly number[]): Promise<AnswerOutcome> {
    return (await this.voteAndView(groupId, actionId, user, choices)).outcome;
  }

  /** `vote`, and this member's card after it. */
  async voteAndView(
    groupId: string,
    actionId: string,
    user: UserRef,
    choices: readonly number[],
  ): Promise<{ outcome: AnswerOutcome; view: ActionView }> {
    const { context, action: poll } = await this.load(groupId, actionId, user.id);
    if (poll.kind !== 'poll') throw new NotFoundError('That poll does not exist.');
    if (!isOpen(poll, this.now())) throw new ForbiddenError(CLOSED_POLL);
    const unique = [...new Set(choices)];
    if (unique.length === 0) throw new InvalidInputError('Choose an option first.');
    if (unique.some((c) => !Number.isInteger(c) || c < 0 || c >= poll.options.length))
      throw new InvalidInputError('That option does not exist.');
    if (!poll.multi && unique.length > 1) throw new InvalidInputError('This poll takes one choice.');
    const at = this.now().toISOString();
    const chosen = unique.sort((a, b) => a - b);
    // A single-choice poll's voters are the sum of its tallies: one counter row per vote, not two.
    const { outcome, changes } = await this.deps.store.record(groupId, actionId, user.id, {
      choices: chosen,
      named: !poll.anonymous,
      at,
      countVoter: poll.multi,
    });
    if (outcome === 'closed') throw new ForbiddenError(CLOSED_POLL);
    if (outcome === 'final') throw new ForbiddenError('Your vote is counted. An anonymous vote cannot be changed.');
    const answered = changes && { changes, at: Date.now() };
    const mine =
      outcome === 'unchanged'
        ? await this.deps.store.answerOf(groupId, actionId, user.id)
        : { at, ...(poll.anonymous ? {} : { choices: chosen }) };
    return { outcome, view: await this.viewOf(context, poll, user, mine, answered) };
  }

  /** Closes a poll (its creator or an admin); voting stops at once. */
  async close(groupId: string, actionId: string, user: UserRef): Promise<Poll> {
    const poll = await this.requireAction(groupId, actionId, user.id);
    if (poll.kind !== 'poll') throw new NotFoundError('That poll does not exist.');
    await this.requireOwner(poll, user.id);
    const closedAt = this.now().toISOString();
    if (!poll.closedAt) await this.deps.store.close(groupId, actionId, closedAt);
    return { ...poll, closedAt: poll.closedAt ?? closedAt };
  }

  /** Polls past their closing time whose results were not posted yet (the closing sweep). */
  dueToClose(now: Date): AsyncIterable<{ groupId: string; actionId: string }> {
    return this.deps.store.dueToClose(now.toISOString());
  }

  /**
   * The closing sweep: locks a poll past its closing time (closed at that time; again after a crash changes
   * nothing) and reads its exact results. Undefined when it is gone (deleted) or not due.
   */
  async closeAtItsTime(groupId: string, actionId: string, now = this.now()): Promise<{ poll: Poll; results: Results } | undefined> {
    const poll = await this.deps.store.get(groupId, actionId);
    if (poll?.kind !== 'poll' || !poll.closesAt || poll.closesAt > now.toISOString()) return undefined;
    const closedAt = poll.closedAt ?? poll.closesAt;
    if (!poll.closedAt) await this.deps.store.close(groupId, actionId, closedAt);
    const closed = { ...poll, closedAt };
    return { poll: closed, results: resultsOf(closed, await this.deps.store.tallies(groupId, actionId)) };
  }

  /** The poll's results post is in the group: the sweep leaves it alone. */
  resultsPosted(groupId: string, actionId: string): Promise<void> {
    return this.deps.store.resultsPosted(groupId, actionId);
  }

  /** The results as this member may see them; undefined when they may not (yet). */
  async results(groupId: string, actionId: string, user: UserRef): Promise<Results | undefined> {
    return (await this.view(groupId, actionId, user)).results;
  }

  /** One member's view of the action (their card, refreshed when viewed): a few point reads, no scan. */
  async view(groupId: string, actionId: string, user: UserRef): Promise<ActionView> {
    const [{ context, action }, mine] = await Promise.all([
      this.load(groupId, actionId, user.id),
      this.deps.store.answerOf(groupId, actionId, user.id),
    ]);
    return this.viewOf(context, action, user, mine);
  }

  /**
   * The view from what was read. Admins and the creator read the counters exactly; a member's "results so far"
   * come from a snapshot at most a second old, plus the answer they just gave (`changes`) when the snapshot is
   * older than it: thousands answering at once do not each read every counter row.
   */
  private async viewOf(
    context: MemberContext,
    action: GroupAction,
    user: UserRef,
    mine: ActionView['mine'] | undefined,
    answer?: Answered,
  ): Promise<ActionView> {
    const mayManage = action.createdBy.id === user.id || context.adminIds.includes(user.id);
    const open = action.kind === 'poll' ? isOpen(action, this.now()) : true;
    let visible = mayManage;
    if (action.kind === 'poll' && !mayManage) visible = action.resultsFor === 'everyone' && (mine !== undefined || !open);
    const view: ActionView = { action, open, mayManage, groupName: context.groupName, ...(mine ? { mine } : {}) };
    if (!visible) return view;
    const [tallies, memberCount] = await Promise.all([
      mayManage ? this.deps.store.tallies(action.groupId, action.actionId) : this.snapshot(action, answer),
      mayManage ? this.deps.lister.memberCount(action.groupId) : Promise.resolve(undefined),
    ]);
    return { ...view, results: resultsOf(action, tallies), ...(memberCount !== undefined ? { memberCount } : {}) };
  }

  private async snapshot(action: GroupAction, answer?: Answered): Promise<Map<Counter, number>> {
    const key = `${action.groupId}|${action.actionId}`;
    const now = Date.now();
    let hit = this.snapshots.get(key);
    if (!hit || now - hit.startedAt >= SNAPSHOT_MS) {
      const value = this.deps.store.tallies(action.groupId, action.actionId);
      value.catch(() => this.snapshots.delete(key));
      hit = { startedAt: now, value };
      this.snapshots.delete(key);
      this.snapshots.set(key, hit);
      if (this.snapshots.size > 1_000) this.snapshots.delete(this.snapshots.keys().next().value!);
      // Read after this answer was written: it is in the counts already.
      return value;
    }
    const counts = new Map(await hit.value);
    // Read before this answer was written (it was written just now): add it.
    if (answer && hit.startedAt < answer.at) for (const [c, delta] of answer.changes) counts.set(c, (counts.get(c) ?? 0) + delta);
    return counts;
  }

  /**
   * The membership (first: a stranger hears "not a member" even for a forged action) and the action, read
   * together: the member's row now, the group's name and the action as read lately (answers and card views of
   * thousands share those reads; a poll closed meanwhile is refused when the answer is written).
   */
  private async load(groupId: string, actionId: string, userId: string): Promise<{ context: MemberContext; action: GroupAction }> {
    const reading = this.deps.store.cached(groupId, actionId);
    reading.catch(() => undefined);
    const context = await this.deps.members.requireMember(groupId, userId, undefined, { groupMaxAgeMs: GROUP_VIEW_MAX_AGE_MS });
    const action = await reading;
    if (!action) throw new NotFoundError(NO_ACTION);
    return { context, action };
  }

  /** For the delivery engine's copies, which it renders only for current members: no membership read. */
  forDelivery(groupId: string, actionId: string): Promise<GroupAction | undefined> {
    return this.deps.store.get(groupId, actionId);
  }

  /** The action for a member of its group (the card's text, the report's header). */
  async get(groupId: string, actionId: string, user: UserRef): Promise<GroupAction> {
    return this.requireAction(groupId, actionId, user.id);
  }

  /**
   * Admins and the creator: each current member and whether and when they answered (a named poll: what), for
   * the CSV report. An anonymous poll's report has participation only.
   */
  async *report(
    groupId: string,
    actionId: string,
    user: UserRef,
  ): AsyncIterable<{ id: string; name: string; at?: string; choices?: number[] }> {
    const action = await this.requireAction(groupId, actionId, user.id);
    await this.requireOwner(action, user.id);
    const answered = await this.deps.store.voters(groupId, actionId);
    for await (const member of this.deps.lister.members(groupId, user)) {
      const answer = answered.get(member.id);
      yield { ...member, ...(answer ? { at: answer.at } : {}), ...(answer?.choices ? { choices: answer.choices } : {}) };
    }
  }

  /** Admins and the creator: the current members who have not answered, `search` in their names. */
  async notAnswered(groupId: string, actionId: string, user: UserRef, options: { search?: string; limit?: number; skip?: number } = {}) {
    const action = await this.requireAction(groupId, actionId, user.id);
    await this.requireOwner(action, user.id);
    const answered = await this.deps.store.voters(groupId, actionId);
    const wanted = options.search?.trim().toLowerCase();
    const limit = options.limit ?? 50;
    const skip = options.skip ?? 0;
    const people: Array<{ id: string; name: string }> = [];
    let total = 0;
    let matching = 0;
    // Members who left are not in the list, so they never count as "hasn't".
    for await (const member of this.deps.lister.members(groupId, user)) {
      if (answered.has(member.id) || member.id === action.createdBy.id) continue;
      total++;
      if (wanted && !member.name.toLowerCase().includes(wanted)) continue;
      if (matching++ >= skip && people.length < limit) people.push(member);
    }
    return { action, people, total, matching };
  }

  /**
   * Who a reminder goes to now, and the round's id (for the reminders' keys), or why none: at most once per
   * window per action. A round begun but not marked `reminded` (the instance died while handing the reminders
   * to the engine) is claimed again with its id, so the same keys finish it and nobody hears twice.
   */
  async remind(groupId: string, actionId: string, user: UserRef): Promise<{ round: string; people: Array<{ id: string; name: string }> }> {
    const action = await this.requireAction(groupId, actionId, user.id);
    await this.requireOwner(action, user.id);
    if (action.kind === 'poll' && !isOpen(action, this.now())) throw new ForbiddenError(CLOSED_POLL);
    const round = await this.deps.store.claimReminder(groupId, actionId, this.now(), REMIND_WINDOW_MS);
    if (!round) throw new ForbiddenError('A reminder went out less than 4 hours ago. Try again later.');
    return { round, people: (await this.notAnswered(groupId, actionId, user, { limit: Number.MAX_SAFE_INTEGER })).people };
  }

  /** Every reminder of the round is with the engine: the window is used from now on. */
  reminded(groupId: string, actionId: string, round: string): Promise<void> {
    return this.deps.store.reminded(groupId, actionId, round);
  }

  /** The action, for a member of its group; "not found" for anyone else and for a forged id. */
  private async requireAction(groupId: string, actionId: string, userId: string): Promise<GroupAction> {
    await this.deps.members.requireMember(groupId, userId);
    const action = await this.deps.store.get(groupId, actionId);
    if (!action) throw new NotFoundError(NO_ACTION);
    return action;
  }

  private async requirePoster(groupId: string, userId: string): Promise<void> {
    const context = await this.deps.members.requireMember(groupId, userId);
    if (context.settings.onlyAdminsPost && !context.adminIds.includes(userId)) {
      throw new ForbiddenError(`Only admins can post in ${context.groupName}.`);
    }
  }

  private async mayManage(action: GroupAction, userId: string): Promise<boolean> {
    if (action.createdBy.id === userId) return true;
    const context = await this.deps.members.requireMember(action.groupId, userId);
    return context.adminIds.includes(userId);
  }

  private async requireOwner(action: GroupAction, userId: string): Promise<void> {
    if (!(await this.mayManage(action, userId))) throw new ForbiddenError('Only group admins and its creator can do that.');
  }
}

/** Counts per option (a poll) or confirmations (an announcement), and how many answered. */
function resultsOf(action: GroupAction, tallies: ReadonlyMap<Counter, number>): Results {
  const counts = action.kind === 'poll' ? action.options.map((_, i) => tallies.get(i) ?? 0) : [tallies.get('confirmed') ?? 0];
  const answered =
    action.kind === 'announcement'
      ? (tallies.get('confirmed') ?? 0)
      : action.multi
        ? (tallies.get('answered') ?? 0)
        : counts.reduce((a, b) => a + b, 0);
  return { counts, answered };
}

/** The group's current members, page by page (members-only, as the domain checks). */
export function groupMemberLister(groups: Pick<GroupService, 'listMembers' | 'getGroup'>): MemberLister {
  return {
    async *members(groupId, viewer) {
      let continuationToken: string | undefined;
      // An admin's listing: the domain's members-only read (the viewer is a member, checked before).
      do {
        const page = await groups.listMembers(groupId, { user: viewer }, { pageSize: 100, continuationToken });
        for (const m of page.items) yield { id: m.user.id, name: m.user.name };
        continuationToken = page.continuationToken;
      } while (continuationToken);
    },
    async memberCount(groupId) {
      return (await groups.getGroup(groupId)).memberCount;
    },
  };
}
