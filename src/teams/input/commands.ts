/**
 * What users can type (with or without a leading "/"), what the help card lists, and what the manifest's
 * command menu offers, all derived from the typed entries of the handler table (src/teams/handlers/handlers.ts).
 * `parseCommand` turns a message into a command and its arguments.
 */

import { HELP_HEADINGS, TYPED_COMMANDS, type CommandName, type HelpHeading, type TypedCommand } from '../handlers/handlers';

export type { CommandName } from '../handlers/handlers';
export { splitMemberAndGroup } from './commandArgs';

/** A typed command as the parser, the help card and the manifest see it: its table entry's words, without `run`. */
export type CommandSpec = { readonly name: CommandName } & Omit<TypedCommand, 'run'>;

/** The typed entries of the handler table (src/teams/handlers/handlers.ts), in its order. */
export const COMMANDS: readonly CommandSpec[] = TYPED_COMMANDS.map(({ name, phrase, aliases, args, help, heading, manifest }) => ({
  name,
  phrase,
  aliases,
  args,
  help,
  ...(heading ? { heading } : {}),
  ...(manifest ? { manifest } : {}),
}));

export const COMMAND_NAMES: readonly CommandName[] = COMMANDS.map((c) => c.name);

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
  for (const { words, name } of PHRASES) {
    if (lower === words || lower.startsWith(`${words} `)) {
      return { command: name, args: body.slice(words.length).trim() };
    }
  }
  return { command: 'unknown', text: t };
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
