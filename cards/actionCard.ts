/**
 * An announcement's or a poll's card as one member sees it (issue 19), rendered per member: at delivery, after
 * their answer, and whenever they view it (Universal Actions' `refresh`, one Action.Execute per viewer; no copy
 * is ever edited for someone else's answer). Buttons are Action.Submit (they work on every Teams client); the
 * refresh is Action.Execute, the only kind a refresh can be; the handler table answers both the same.
 */
import type { Attachment } from 'botbuilder';
import { button, openUrl } from './actions';
import { actionSet, paragraph, plural, richHeading } from './layout';
import { localDateTime } from './localTime';
import { postTextBlocks } from './post';
import { adaptiveCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, richText, run } from './text';

export interface ActionCardData {
  groupId: string;
  groupName: string;
  actionId: string;
  senderName: string;
  createdAt: string;
  announcement?: { title: string; text: string; askConfirm: boolean; dueAt?: string };
  poll?: {
    question: string;
    options: readonly string[];
    multi: boolean;
    anonymous: boolean;
    resultsFor: 'everyone' | 'admins';
    closesAt?: string;
    /** When it was closed (by hand or at its time), when it is. */
    closedAt?: string;
  };
  /** A poll still takes votes. */
  open: boolean;
  /** This member's answer: when, and a named poll's choices. */
  mine?: { at: string; choices?: readonly number[] };
  /** The results this member may see (counts per option, or confirmations). */
  results?: { counts: readonly number[]; answered: number };
  /** Admins and the creator: the counts against the members, and their buttons. */
  manage?: { memberCount: number; reportUrl?: string };
  /** A line above everything (a reminder, a refusal). */
  notice?: string;
}

const timeBlock = (prefix: string, at: string): CardElement => ({
  type: 'TextBlock',
  text: `${prefix} ${localDateTime(at)}`,
  wrap: true,
  isSubtle: true,
  size: 'Small',
  spacing: 'Small',
});

function bar(count: number, total: number): string {
  const share = total > 0 ? Math.round((count / total) * 100) : 0;
  return `${plural(count, 'vote')} (${share}%)`;
}

/** A closed poll says so plainly, on a neutral band: closing is the normal end of a poll, not an error. */
function closedBand(at: string | undefined): CardElement {
  const items: CardElement[] = [{ type: 'TextBlock', text: '🔒 This poll is closed.', weight: 'Bolder', wrap: true }];
  if (at) items.push(timeBlock('Closed', at));
  return { type: 'Container', style: 'emphasis', spacing: 'Medium', items };
}

function resultRows(data: ActionCardData): CardElement[] {
  const poll = data.poll!;
  const results = data.results!;
  const total = results.counts.reduce((a, b) => a + b, 0);
  return [
    paragraph(
      data.open
        ? `Results so far: ${plural(results.answered, 'person', 'people')} voted`
        : `Final results: ${plural(results.answered, 'person', 'people')} voted`,
      {
        spacing: 'Medium',
        size: 'Small',
      },
    ),
    {
      type: 'FactSet',
      facts: poll.options.map((o, i) => ({ title: inline(o, 100), value: bar(results.counts[i] ?? 0, total) })),
    },
  ];
}

function pollBody(data: ActionCardData, ids: { groupId: string; actionId: string }): { body: CardElement[]; actions: CardAction[] } {
  const poll = data.poll!;
  const body: CardElement[] = [richHeading(poll.question)];
  const actions: CardAction[] = [];
  const canVote = data.open && (!data.mine || !poll.anonymous);
  const chosen = data.mine?.choices;
  if (data.mine) {
    const what = chosen?.length ? `: ${chosen.map((c) => inline(poll.options[c] ?? '', 100)).join(', ')}` : '';
    body.push(timeBlock(`You voted${what} at`, data.mine.at));
  }
  if (canVote) {
    body.push({
      type: 'Input.ChoiceSet',
      id: 'choice',
      label: poll.multi ? 'Choose one or more' : 'Choose one',
      style: 'expanded',
      isMultiSelect: poll.multi,
      isRequired: true,
      errorMessage: 'Choose an option first.',
      wrap: true,
      choices: poll.options.map((o, i) => ({ title: o.slice(0, 100), value: String(i) })),
      ...(chosen?.length ? { value: chosen.join(',') } : {}),
    });
    actions.push(button(data.mine ? 'Change vote' : 'Vote', 'voteAction', ids, { style: 'positive' }));
  }
  const notes = [poll.anonymous ? 'Anonymous: nobody sees who chose what, and a vote is final.' : 'Named: admins see who chose what.'];
  if (poll.resultsFor === 'admins') notes.push('Results are for admins.');
  body.push(paragraph(notes.join(' '), { isSubtle: true, size: 'Small' }));
  if (!data.open) body.push(closedBand(poll.closedAt ?? poll.closesAt));
  else if (poll.closesAt) body.push(timeBlock('Closes', poll.closesAt));
  if (data.results) body.push(...resultRows(data));
  return { body, actions };
}

function announcementBody(
  data: ActionCardData,
  ids: { groupId: string; actionId: string },
): { body: CardElement[]; actions: CardAction[] } {
  const a = data.announcement!;
  const body: CardElement[] = [richHeading(a.title), ...postTextBlocks(a.text, 2000)];
  const actions: CardAction[] = [];
  if (a.askConfirm) {
    if (data.mine)
      body.push({
        type: 'TextBlock',
        text: `✔ You confirmed at ${localDateTime(data.mine.at)}`,
        wrap: true,
        color: 'Good',
        spacing: 'Medium',
      });
    else {
      if (a.dueAt) body.push(timeBlock('Please confirm by', a.dueAt));
      actions.push(button('Got it', 'confirmAction', ids, { style: 'positive' }));
    }
  }
  return { body, actions };
}

/** The card; `refresh` asks Teams to fetch this member's current view whenever they look at it. */
export function buildActionCard(data: ActionCardData): Attachment {
  const ids = { groupId: data.groupId, actionId: data.actionId };
  const what = data.poll ? 'Poll' : 'Announcement';
  const head: CardElement[] = [];
  // A notice (a reminder, "closed, results posted", a refused answer) is news, not an alarm: accent, not red.
  if (data.notice) head.push({ type: 'TextBlock', text: inline(data.notice, 300), color: 'Accent', weight: 'Bolder', wrap: true });
  head.push(
    richText([run(`${what} · `, { isSubtle: true, size: 'Small' }), run(data.groupName, { weight: 'Bolder', size: 'Small' }, 100)]),
  );
  head.push(richText([run(`from ${data.senderName}`, { isSubtle: true, size: 'Small' }, 100)], { spacing: 'None' }));
  const { body, actions } = data.poll ? pollBody(data, ids) : announcementBody(data, ids);
  const manage: CardElement[] = [];
  if (data.manage) {
    const answered = data.results?.answered ?? 0;
    const verb = data.poll ? 'voted' : 'confirmed';
    manage.push(
      paragraph(`**${answered.toLocaleString('en-US')} of ${plural(data.manage.memberCount, 'member')} ${verb}**`, { spacing: 'Medium' }),
    );
    // A closed poll takes no more answers: nobody to chase, so no Who hasn't or Remind; the report stays.
    const admin: CardAction[] = data.open ? [button("Who hasn't", 'notAnsweredPage', ids), button('Remind', 'remindAction', ids)] : [];
    if (data.manage.reportUrl) admin.push(openUrl('CSV report', data.manage.reportUrl));
    if (data.poll && data.open) admin.push(button('Close poll', 'closePoll', ids, { style: 'destructive' }));
    if (admin.length > 0) manage.push(actionSet(admin));
  }
  const card = adaptiveCard(
    [...head, ...body, ...manage],
    actions,
    `${what} in ${inline(data.groupName, 60)}: ${inline(data.poll?.question ?? data.announcement?.title ?? '', 80)}`,
  );
  card.refresh = { action: { type: 'Action.Execute', title: 'Refresh', verb: 'refreshAction', data: { verb: 'refreshAction', ...ids } } };
  return toAttachment(card);
}

/** What a member's chat shows: the card plus the notification line. */
export function buildActionActivity(data: ActionCardData): Record<string, unknown> {
  const title = data.poll?.question ?? data.announcement?.title ?? '';
  return {
    type: 'message',
    summary: `${data.senderName} · ${data.groupName}: ${title}`.slice(0, 200),
    attachments: [buildActionCard(data)],
  };
}

/** Who hasn't answered, a page at a time, with a search box (admins and the creator). */
export function buildNotAnsweredCard(data: {
  groupId: string;
  actionId: string;
  title: string;
  verb: 'confirmed' | 'voted';
  people: ReadonlyArray<{ name: string }>;
  matching: number;
  total: number;
  skip: number;
  search?: string;
  pageSize: number;
}): Attachment {
  const ids = { groupId: data.groupId, actionId: data.actionId };
  const body: CardElement[] = [
    richHeading(`Not ${data.verb} yet: `, data.title),
    paragraph(
      `${plural(data.total, 'member')} have not ${data.verb}.${data.search ? ` ${plural(data.matching, 'match', 'matches')} for the search.` : ''}`,
    ),
  ];
  for (const p of data.people) body.push(richText([run(p.name, {}, 100)], { spacing: 'None' }));
  body.push({ type: 'Input.Text', id: 'search', label: 'Search by name', maxLength: 100, ...(data.search ? { value: data.search } : {}) });
  const actions: CardAction[] = [button('Search', 'notAnsweredPage', ids)];
  if (data.skip + data.people.length < data.matching)
    actions.push(button('Next page', 'notAnsweredPage', { ...ids, skip: data.skip + data.pageSize }));
  if (data.total > 0) actions.push(button('Remind them', 'remindAction', ids, { associatedInputs: 'none' }));
  return toAttachment(adaptiveCard(body, actions, `Not ${data.verb} yet`));
}
