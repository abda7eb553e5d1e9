/**
 * The one command table: what users can type (with or without a leading "/"), what the help card lists, and
 * what the manifest's command menu offers. `parseCommand` turns a message into a command and its arguments.
 */

export const COMMAND_NAMES = [
  'newGroup',
  'myGroups',
  'groupInfo',
  'invite',
  'join',
  'members',
  'leave',
  'remove',
  'allow',
  'makeAdmin',
  'resetLink',
  'addToOrganization',
  'orgGroups',
  'export',
  'poster',
  'email',
  'help',
  'cancel',
  'switch',
  'open',
  'history',
  'settings',
  'mute',
  'unmute',
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

export interface CommandSpec {
  readonly name: CommandName;
  /** The canonical words, lower case. */
  readonly phrase: string;
  /** Other accepted words, lower case. */
  readonly aliases: readonly string[];
  /** How the arguments are written in help: `[optional]`, `<required>`; '' for none. */
  readonly args: string;
  /** One line for the help card. */
  readonly help: string;
  /** Present when the command appears in the manifest's command menu (at most 10 per scope). */
  readonly manifest?: { readonly title: string; readonly description: string };
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'newGroup',
    phrase: 'new group',
    aliases: ['create group', 'newgroup'],
    args: '[name]',
    help: 'Create a group. The bot asks for the name and an optional photo.',
    manifest: { title: 'new group', description: 'Create a group for your team, then invite people with a link' },
  },
  {
    name: 'myGroups',
    phrase: 'my groups',
    aliases: ['groups', 'mygroups'],
    args: '',
    help: 'List the groups you belong to.',
    manifest: { title: 'my groups', description: 'List the groups you belong to' },
  },
  {
    name: 'groupInfo',
    phrase: 'group',
    aliases: ['group info'],
    args: '[name or id]',
    help: "Show a group's info: members, admins, owner, and what you can do.",
    manifest: { title: 'group', description: "Show a group's info: type 'group' and the group's name" },
  },
  {
    name: 'invite',
    phrase: 'invite',
    aliases: ['invite people'],
    args: '[group]',
    help: 'Get the invite link, join code and QR code, with buttons to share them.',
    manifest: { title: 'invite', description: 'Get the invite link and QR code to share in WhatsApp, Telegram, SMS, email or Teams' },
  },
  {
    name: 'join',
    phrase: 'join',
    aliases: [],
    args: '<link or code>',
    help: 'Join a group with its invite link or join code.',
    manifest: { title: 'join', description: 'Join a group: paste the invite link or type the join code' },
  },
  {
    name: 'members',
    phrase: 'members',
    aliases: ['show members'],
    args: '[group]',
    help: "List a group's members; admins can remove members and make admins.",
    manifest: { title: 'members', description: "List a group's members" },
  },
  {
    name: 'leave',
    phrase: 'leave',
    aliases: ['leave group'],
    args: '[group]',
    help: 'Leave a group (you are asked to confirm).',
  },
  {
    name: 'remove',
    phrase: 'remove',
    aliases: ['remove member'],
    args: '<member> [from <group>]',
    help: 'Remove a member from a group; they cannot rejoin until an admin allows them (group admins).',
  },
  {
    name: 'allow',
    phrase: 'allow',
    aliases: ['let back in', 'unban'],
    args: '<member> [in <group>]',
    help: 'Let someone an admin removed join the group again (group admins).',
  },
  {
    name: 'makeAdmin',
    phrase: 'make admin',
    aliases: ['makeadmin'],
    args: '<member> [in <group>]',
    help: 'Make a member an admin of the group (group admins).',
  },
  {
    name: 'resetLink',
    phrase: 'reset link',
    aliases: ['reset invite link', 'resetlink'],
    args: '[group]',
    help: 'Revoke the invite link and make a new one (group admins).',
  },
  {
    name: 'addToOrganization',
    phrase: 'add to organization',
    aliases: ['add to org', 'add to organisation'],
    args: '[group]',
    help: 'Make your organization the owner of the group; you sign in with your work account (group admins).',
    manifest: {
      title: 'add to organization',
      description: 'Make your organization the owner of a group (group admins; you sign in with your work account)',
    },
  },
  {
    name: 'orgGroups',
    phrase: 'org groups',
    aliases: ['organization groups', 'organisation groups'],
    args: '',
    help: "List all of your organization's groups (organization admins).",
  },
  {
    name: 'export',
    phrase: 'export',
    aliases: [],
    args: '<group>',
    help: "Export a group's members and history (organization admins).",
  },
  {
    name: 'poster',
    phrase: 'poster',
    aliases: [],
    args: '[group]',
    help: 'Download a poster that asks everyone to move to the group, with its link and QR code.',
    manifest: { title: 'poster', description: 'Download a poster asking everyone to move to the group, with its link and QR code' },
  },
  {
    name: 'email',
    phrase: 'email',
    aliases: ['e-mail'],
    args: '[group]',
    help: 'Get an email template that asks everyone to move to the group.',
    manifest: { title: 'email', description: 'Get an email template asking everyone to move to the group' },
  },
  {
    name: 'help',
    phrase: 'help',
    aliases: ['?', 'commands'],
    args: '',
    help: 'Show this list.',
    manifest: { title: 'help', description: 'What the bot does and the commands you can use' },
  },
  {
    name: 'cancel',
    phrase: 'cancel',
    aliases: ['stop'],
    args: '',
    help: 'Stop what you are doing (for example creating a group).',
  },
  {
    name: 'switch',
    phrase: 'switch',
    aliases: [],
    args: '[group]',
    help: 'Choose the group your typed messages go to.',
  },
  {
    name: 'open',
    phrase: 'open',
    aliases: [],
    args: '<group>',
    help: 'Open a group: its info, and your messages go to it.',
  },
  {
    name: 'history',
    phrase: 'history',
    aliases: [],
    args: '[group]',
    help: "Read a group's earlier posts, 20 at a time.",
  },
  {
    name: 'settings',
    phrase: 'settings',
    aliases: [],
    args: '[group]',
    help: 'Who can post, and whether new members see earlier posts (group admins).',
  },
  {
    name: 'mute',
    phrase: 'mute',
    aliases: [],
    args: '[group]',
    help: "Stop getting a group's posts (its history stays).",
  },
  {
    name: 'unmute',
    phrase: 'unmute',
    aliases: [],
    args: '[group]',
    help: "Get a group's posts again.",
  },
];

export type ParsedCommand =
  | { command: CommandName; args: string }
  | { command: 'unknown'; text: string };

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
    t = t.replace(MENTION, (whole, inner: string) =>
      decodeEntities(inner).trim().toLowerCase() === botName ? ' ' : whole,
    );
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

/** `remove <member> [from <group>]` (and `make admin <member> [in <group>]`): split at the last "from"/"in". */
export function splitMemberAndGroup(args: string, separator: 'from' | 'in' = 'from'): { member: string; group?: string } {
  const match = new RegExp(`^(.*\\S)\\s+${separator}\\s+(\\S.*)$`, 'i').exec(args.trim());
  if (match === null) return { member: args.trim() };
  return { member: match[1]!.trim(), group: match[2]!.trim() };
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
export function manifestCommandList(
  scopes: ManifestScope[] = ['personal', 'team', 'groupChat'],
): ManifestCommandList[] {
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

/** The short `help`: commands grouped by what people want to do. The full list is one button away. */
export const HELP_TASKS: ReadonlyArray<{ task: string; commands: readonly CommandName[] }> = [
  { task: 'Start', commands: ['newGroup', 'myGroups', 'groupInfo'] },
  { task: 'Bring people in', commands: ['invite', 'join', 'poster', 'email'] },
  { task: 'Talk in the group', commands: ['switch', 'open', 'history', 'mute', 'unmute'] },
  { task: 'Run the group', commands: ['members', 'remove', 'allow', 'makeAdmin', 'settings', 'resetLink', 'leave'] },
  { task: 'Hand it to your organization', commands: ['addToOrganization'] },
  { task: 'Organization admins', commands: ['orgGroups', 'export'] },
];

/** For the short help card: each task with its commands as typed (`invite [group]`). */
export function helpTasks(): Array<{ task: string; usages: string[] }> {
  return HELP_TASKS.map(({ task, commands }) => ({
    task,
    usages: commands.map((name) => commandSpec(name).phrase),
  }));
}
