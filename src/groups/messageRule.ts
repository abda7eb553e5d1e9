/**
 * The command-vs-post rule (issue 10, item 1). A member with a current group talks to that group: what they
 * type is a post unless it is clearly meant for the bot. It is a command when it
 * - starts with "/";
 * - is exactly an argument-less command (`help`, `cancel`, `my groups`, `switch`, `history`, `members`,
 *   `settings`, `mute`, `unmute`, `new group`);
 * - starts with a command word and the rest resolves: `join` + a valid link or code; `invite`, `group`, `open`,
 *   `members`, `history`, `leave`, `poster`, `email`, `reset link`, `add to organization`, `settings`, `mute`,
 *   `unmute` + the name of one of the member's groups; `remove` / `make admin` / `allow` + a member of that
 *   group; `export` + an organization group.
 * Everything else is a post ("help me with the order", "join us at 5", "new group is ready").
 * Without a current group the rule does not apply: commands work as they always did.
 */

/** Answers the "does the rest resolve" questions; the glue asks storage. */
export interface CommandResolver {
  /** A link or join code of a group that exists (and is current). */
  isValidInvite(rest: string): Promise<boolean>;
  /** The name (or id) of one of the member's own groups. */
  isMyGroup(name: string): Promise<boolean>;
  /** A member of the named group, or of the current group when `groupName` is absent. */
  isMember(memberName: string, groupName: string | undefined): Promise<boolean>;
  /** Someone an admin removed from the named group (or the current one): what `allow` names. */
  isRemoved(memberName: string, groupName: string | undefined): Promise<boolean>;
  /** A group the member's organization owns (for organization admins' `export`). */
  isOrgGroup(name: string): Promise<boolean>;
}

export const ARGUMENTLESS_COMMANDS = [
  'help',
  'cancel',
  'my groups',
  'switch',
  'history',
  'members',
  'settings',
  'mute',
  'unmute',
  'imports',
  'new group',
] as const;

type ArgumentKind = 'invite' | 'group' | 'member' | 'removed' | 'orgGroup';

const COMMANDS_WITH_ARGUMENT: ReadonlyArray<{ words: string; kind: ArgumentKind; separator?: 'from' | 'in' }> = [
  { words: 'join', kind: 'invite' },
  ...[
    'invite',
    'group',
    'open',
    'members',
    'history',
    'leave',
    'poster',
    'email',
    'reset link',
    'add to organization',
    'settings',
    'mute',
    'unmute',
    'imports',
  ].map((words) => ({ words, kind: 'group' as const })),
  { words: 'remove', kind: 'member', separator: 'from' },
  { words: 'make admin', kind: 'member', separator: 'in' },
  { words: 'allow', kind: 'removed', separator: 'in' },
  { words: 'export', kind: 'orgGroup' },
];

/** Lower case, whitespace (non-breaking too) collapsed. */
function normalize(text: string): string {
  return text
    .replace(/\u00a0/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Text that is a command with or without a current group (so nobody needs to look the group up): "/..." or
 * exactly an argument-less command. */
export function isCommandWhateverTheGroup(text: string): boolean {
  const t = normalize(text);
  return t.startsWith('/') || (ARGUMENTLESS_COMMANDS as readonly string[]).includes(t.toLowerCase());
}

/**
 * Whether a member WITH a current group meant a command. `text` is the message without the bot's mention.
 * Pure apart from the resolver's answers.
 */
export async function isCommandForMemberWithCurrentGroup(text: string, resolver: CommandResolver): Promise<boolean> {
  if (isCommandWhateverTheGroup(text)) return true;
  const t = normalize(text);
  const lower = t.toLowerCase();
  for (const command of COMMANDS_WITH_ARGUMENT) {
    if (!lower.startsWith(`${command.words} `)) continue;
    const rest = t.slice(command.words.length).trim();
    if (rest === '') continue;
    switch (command.kind) {
      case 'invite':
        if (await resolver.isValidInvite(rest)) return true;
        break;
      case 'group':
        if (await resolver.isMyGroup(rest)) return true;
        break;
      case 'orgGroup':
        if (await resolver.isOrgGroup(rest)) return true;
        break;
      case 'member': {
        const split = splitAt(rest, command.separator ?? 'from');
        if (split.group !== undefined && (await resolver.isMyGroup(split.group)) && (await resolver.isMember(split.member, split.group)))
          return true;
        if (await resolver.isMember(rest, undefined)) return true;
        break;
      }
      case 'removed': {
        const split = splitAt(rest, command.separator ?? 'in');
        if (split.group !== undefined && (await resolver.isMyGroup(split.group)) && (await resolver.isRemoved(split.member, split.group)))
          return true;
        if (await resolver.isRemoved(rest, undefined)) return true;
        break;
      }
    }
  }
  return false;
}

/** "Ann Lee from Field Sales" -> member "Ann Lee", group "Field Sales" (at the last separator). */
function splitAt(text: string, separator: 'from' | 'in'): { member: string; group?: string } {
  const match = new RegExp(`^(.*\\S)\\s+${separator}\\s+(\\S.*)$`, 'i').exec(text);
  return match ? { member: match[1]!.trim(), group: match[2]!.trim() } : { member: text };
}
