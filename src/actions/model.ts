/**
 * Kaizala's Actions in the group (issue 19): an announcement members confirm, and a quick poll. Plain data and
 * the rules of their input; no Teams, no storage.
 */
import { InvalidInputError } from '../errors';
import type { UserRef } from '../groups/model';

export const MAX_TITLE_CHARS = 120;
export const MAX_TEXT_CHARS = 2_000;
export const MAX_OPTION_CHARS = 100;
export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 10;
/** Reminders go out at most this often per action. */
export const REMIND_WINDOW_MS = 4 * 60 * 60 * 1000;

export type ResultsFor = 'everyone' | 'admins';

export interface Announcement {
  kind: 'announcement';
  groupId: string;
  actionId: string;
  title: string;
  text: string;
  /** "Ask members to confirm" (default on): each member's card has Got it. */
  askConfirm: boolean;
  dueAt?: string;
  createdBy: UserRef;
  createdAt: string;
}

export interface Poll {
  kind: 'poll';
  groupId: string;
  actionId: string;
  question: string;
  options: readonly string[];
  multi: boolean;
  /** No stored row links a member to a choice; a vote is final. */
  anonymous: boolean;
  /** Who sees the tallies: everyone once they voted (and when it closed), or only admins and the creator. */
  resultsFor: ResultsFor;
  closesAt?: string;
  closedAt?: string;
  createdBy: UserRef;
  /** The creator's tenant: the results post a closing time sends goes in the creator's name. */
  creatorTenantId?: string;
  createdAt: string;
}

export type GroupAction = Announcement | Poll;

export type NewAnnouncement = Omit<Announcement, 'kind' | 'actionId' | 'createdAt'>;
export type NewPoll = Omit<Poll, 'kind' | 'actionId' | 'createdAt' | 'closedAt'>;

/** Trimmed, one line, within its length; or why not. */
function line(value: unknown, what: string, max: number): string {
  const text = typeof value === 'string' ? value.replace(/\s+/g, ' ').trim() : '';
  if (!text) throw new InvalidInputError(`The ${what} is empty.`);
  if (Array.from(text).length > max) throw new InvalidInputError(`The ${what} can be at most ${max} characters.`);
  return text;
}

function futureTime(value: string | undefined, now: Date, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new InvalidInputError(`The ${what} is not a date and time.`);
  if (at.getTime() <= now.getTime()) throw new InvalidInputError(`The ${what} must be in the future.`);
  return at.toISOString();
}

export function checkAnnouncement(input: NewAnnouncement, now: Date): NewAnnouncement {
  const text = typeof input.text === 'string' ? input.text.trim() : '';
  if (!text) throw new InvalidInputError('The announcement has no text.');
  if (Array.from(text).length > MAX_TEXT_CHARS) throw new InvalidInputError(`An announcement can be at most ${MAX_TEXT_CHARS} characters.`);
  const dueAt = futureTime(input.dueAt, now, 'due time');
  return {
    ...input,
    title: line(input.title, 'title', MAX_TITLE_CHARS),
    text,
    askConfirm: input.askConfirm !== false,
    ...(dueAt ? { dueAt } : {}),
  };
}

export function checkPoll(input: NewPoll, now: Date): NewPoll {
  const options = (input.options ?? []).map((o) => (typeof o === 'string' ? o.replace(/\s+/g, ' ').trim() : '')).filter((o) => o !== '');
  if (options.length < MIN_OPTIONS) throw new InvalidInputError(`A poll needs at least ${MIN_OPTIONS} options.`);
  if (options.length > MAX_OPTIONS) throw new InvalidInputError(`A poll can have at most ${MAX_OPTIONS} options.`);
  const long = options.find((o) => Array.from(o).length > MAX_OPTION_CHARS);
  if (long) throw new InvalidInputError(`An option can be at most ${MAX_OPTION_CHARS} characters.`);
  if (new Set(options.map((o) => o.toLowerCase())).size !== options.length) throw new InvalidInputError('Two options are the same.');
  const closesAt = futureTime(input.closesAt, now, 'closing time');
  return {
    ...input,
    question: line(input.question, 'question', MAX_TITLE_CHARS),
    options,
    multi: input.multi === true,
    anonymous: input.anonymous === true,
    resultsFor: input.resultsFor === 'admins' ? 'admins' : 'everyone',
    ...(closesAt ? { closesAt } : {}),
  };
}

/** Open until closed by its creator, or until its closing time. */
export function isOpen(poll: Poll, now: Date): boolean {
  return !poll.closedAt && (!poll.closesAt || poll.closesAt > now.toISOString());
}
