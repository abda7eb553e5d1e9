/**
 * What users can type (with or without a leading "/"), what the help card lists, and what the manifest's
 * command menu offers, all derived from the typed entries of the handler table (src/teams/handlers/handlers.ts).
 * `parseCommand` turns a message into a command and its arguments.
 */

import { HELP_HEADINGS, TYPED_COMMANDS, type CommandName, type HelpHeading, type TypedCommand } from '../handlers/handlers';
import { withoutTrailingPunctuation, type CommandVocabulary } from '../../groups/messageRule';

export type { CommandName } from '../handlers/handlers';
export { splitMemberAndGroup } from './commandArgs';

/** A typed command as the parser, the help card and the manifest see it: its table entry's words, without `run`. */
export type CommandSpec = { readonly name: CommandName } & Omit<TypedCommand, 'run'>;

/** The typed entries of the handler table (src/teams/handlers/handlers.ts), in its order. */
export const COMMANDS: readonly CommandSpec[] = TYPED_COMMANDS.map(
  ({ name, phrase, aliases, args, rest, unresolved, help, heading, manifest }) => ({
    name,
    phrase,
    aliases,
    args,
    rest,
    ...(unresolved ? { unresolved } : {}),
    help,
    ...(heading ? { heading } : {}),
    ...(manifest ? { manifest } : {}),
  }),
);

export const COMMAND_NAMES: readonly CommandName[] = COMMANDS.map((c) => c.name);

/** The posts rule's words (src/groups/messageRule.ts), from the table: a new command is never born a post. */
export const COMMAND_VOCABULARY: CommandVocabulary = COMMANDS.map((c) => ({
  words: [c.phrase, ...c.aliases],
  rest: c.rest,
  unresolved: c.unresolved ?? 'post',
}));

export type ParsedCommand = { command: CommandName; args: string } | { command: 'unknown'; text: string };

export interface ParseCommandOptions {
  /** The bot's display name: its `<at>name</at>` mention is removed wherever it appears. */
  botName?: string;
}

// Longest phrase first, so "my groups" wins over "groups" and "group info" over "group".
const PHRASES: ReadonlyArray<{ words: string; name: CommandName }> = COMMANDS.flatMap((c) =>
  [c.phrase, ...c.aliases].map((words) => ({ words, name: c.name })),
).sort((a, b) => b.words.length - a.words.length);

const MENTION = /<at(?:\s[^>]*)?>([\s\S]*?)<\/at>/gi;

function decodeEntities(text: string): string {
  return text
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&');
}

/**
 * The command in a message, or `{ command: 'unknown', text }` when it is not one, or `undefined` when the
 * message has no text left (e.g. only the bot's mention). Case-insensitive, a leading "/" optional,
 * whitespace (including non-breaking spaces) collapsed. The bot's `<at>` mention is removed: the one named
 * `botName` anywhere, or, without `botName`, a mention at the very start. Other mentions keep their name
 * ("remove <at>Ann</at>" gives args "Ann"); resolve them through the activity's mention entities.
 */
export function parseCommand(text: string, options: ParseCommandOptions = {}): ParsedCommand | undefined {
  if (typeof text !== 'string') return undefined;
  let t = text.replace(/&nbsp;/gi, ' ').replace(/\u00a0/g, ' ');

  const botName = options.botName?.trim().toLowerCase();
  if (botName !== undefined && botName !== '') {
    t = t.replace(MENTION, (whole, inner: string) => (decodeEntities(inner).trim().toLowerCase() === botName ? ' ' : whole));
  } else {
    t = t.replace(/^\s*(?:<at(?:\s[^>]*)?>[\s\S]*?<\/at>\s*)+/i, ' ');
  }
  t = t.replace(MENTION, (_whole, inner: string) => inner);
  t = decodeEntities(t)
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (t === '') return undefined;

  const body = t.startsWith('/') ? t.slice(1).trimStart() : t;
  const lower = body.toLowerCase();
  // "invite?" and "Help!": a phrase typed alone with trailing punctuation is that command.
  const bare = withoutTrailingPunctuation(lower);
  for (const { words, name } of PHRASES) {
    if (lower === words || bare === words) return { command: name, args: '' };
    if (lower.startsWith(`${words} `)) return { command: name, args: body.slice(words.length).trim() };
  }
  return { command: 'unknown', text: t };
}

/** Past this many edits a word is not a typo of a phrase (`/invte` is `/invite`; `/hello` is nothing). */
const MAX_TYPO_EDITS = 2;

/**
 * The phrase an unknown `/word` most likely meant, by edit distance over every phrase and alias (compared with
 * as many of the typed words as the phrase has); undefined when nothing is close.
 */
export function closestCommand(typed: string): string | undefined {
  const words = typed
    .replace(/^\s*\//, '')
    .trim()
    .toLowerCase()
    .split(/\s+/);
  let best: { phrase: string; distance: number; words: number } | undefined;
  for (const c of COMMANDS) {
    for (const candidate of [c.phrase, ...c.aliases]) {
      const count = candidate.split(' ').length;
      const distance = editDistance(words.slice(0, count).join(' '), candidate);
      const allowed = Math.min(MAX_TYPO_EDITS, Math.floor(candidate.length / 3));
      // Equally close: the phrase that explains more of what was typed ("/remov admin" is `remove admin`).
      const closer = best === undefined || distance < best.distance || (distance === best.distance && count > best.words);
      if (distance <= allowed && closer) best = { phrase: c.phrase, distance, words: count };
    }
  }
  return best?.phrase;
}

/** Edit distance with adjacent transpositions ("jion" is one edit from "join"): optimal string alignment. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

export function commandSpec(name: CommandName): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (spec === undefined) throw new Error(`No command ${name}`);
  return spec;
}

/** For the help card: `{ usage: 'new group [name]', description }` in table order. */
export function helpEntries(): Array<{ usage: string; description: string }> {
  return COMMANDS.map((c) => ({ usage: c.args === '' ? c.phrase : `${c.phrase} ${c.args}`, description: c.help }));
}

export type ManifestScope = 'personal' | 'team' | 'groupChat';

export interface ManifestCommandList {
  scopes: ManifestScope[];
  commands: Array<{ title: string; description: string }>;
}

export const MANIFEST_LIMITS = { commandsPerScope: 10, titleChars: 32, descriptionChars: 128 } as const;

/** The manifest's `bots[0].commandLists`: one list for the given scopes, the table's menu commands in order. */
export function manifestCommandList(scopes: ManifestScope[] = ['personal', 'team', 'groupChat']): ManifestCommandList[] {
  const commands = COMMANDS.flatMap((c) =>
    c.manifest === undefined ? [] : [{ title: c.manifest.title, description: c.manifest.description }],
  );
  if (commands.length > MANIFEST_LIMITS.commandsPerScope) {
    throw new Error(`The manifest allows ${MANIFEST_LIMITS.commandsPerScope} commands per scope, not ${commands.length}.`);
  }
  for (const c of commands) {
    if (c.title.length > MANIFEST_LIMITS.titleChars || c.description.length > MANIFEST_LIMITS.descriptionChars) {
      throw new Error(`Manifest command "${c.title}" is too long.`);
    }
  }
  return [{ scopes: [...scopes], commands }];
}

/** The short `help`: the commands under each heading their table entries name, in table order. */
export const HELP_TASKS: ReadonlyArray<{ task: HelpHeading; commands: readonly CommandName[] }> = HELP_HEADINGS.map((task) => ({
  task,
  commands: COMMANDS.filter((c) => c.heading === task).map((c) => c.name),
}));

/** For the short help card: each task with its commands as typed (`invite [group]`). */
export function helpTasks(): Array<{ task: string; usages: string[] }> {
  return HELP_TASKS.map(({ task, commands }) => ({
    task,
    usages: commands.map((name) => commandSpec(name).phrase),
  }));
}
