/**
 * The command-vs-post rule (issue 10 item 1, issue 17 item 1). A member with a current group talks to that
 * group: what they type is a post unless it is meant for the bot. The words come from the handler table (the
 * glue passes them in as a `CommandVocabulary`), so a command added there can never be born a post.
 * - Anything that starts with "/" is a command.
 * - A command's phrase (or alias) typed alone, in any case, trailing punctuation ignored, is a command: it acts
 *   on the current group.
 * - A command word with a rest is a command when the rest resolves (a valid invite, one of the member's groups,
 *   a member of the group...). When it does not, words a sentence often starts with ("join us at 5", "invite
 *   Bob to lunch") are a post; an admin's words ("remove the boxes from the van") are neither: the bot says what
 *   it could not find and posts only when asked (`notFound`). `export <group>` is never a post either: which
 *   groups someone may export is known once they sign in (missing 'orgGroup': the export asks for the sign-in).
 * - Everything else is a post.
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
  /** An admin of the named group (or the current one): what `remove admin` names. */
  isAdmin(memberName: string, groupName: string | undefined): Promise<boolean>;
  /** Someone an admin removed from the named group (or the current one): what `allow` names. */
  isRemoved(memberName: string, groupName: string | undefined): Promise<boolean>;
  /** A group the member's organization owns (for organization admins' `export` and `remove ... from`). */
  isOrgGroup(name: string): Promise<boolean>;
}

/** Who a member-naming command names, and the word before an optional group ("remove Ann from Sales"). */
export interface PersonRest {
  readonly person: 'member' | 'admin' | 'removed';
  readonly separator: 'from' | 'in';
  /** An organization admin may name a group of their organization they are not in (`remove Ann from Sales`). */
  readonly orgGroups?: true;
}

/**
 * What the words after a command's phrase name: nothing ('none': any rest makes it a sentence), free text
 * ('text', like a new group's name: a sentence unless typed with "/"), an invite, one of the member's groups,
 * a group of their organization, or a person.
 */
export type CommandRest = 'none' | 'text' | 'invite' | 'group' | 'orgGroup' | PersonRest;

/** One command of the handler table as the rule sees it. */
export interface RuleCommand {
  /** The phrase and its aliases, lower case. */
  readonly words: readonly string[];
  readonly rest: CommandRest;
  /** A rest that does not resolve: a post (a sentence often starts so), or 'ask' (an admin's word: never a post unasked). */
  readonly unresolved: 'post' | 'ask';
}

export type CommandVocabulary = readonly RuleCommand[];

/** What could not be found, for the bot's answer: a group, a person, or (export) an organization's group. */
export type Missing = 'group' | 'member' | 'admin' | 'removed' | 'orgGroup';

export type MessageDecision =
  | { readonly kind: 'command' }
  | { readonly kind: 'post' }
  /** An admin's word whose rest does not resolve: answer what is missing; post only if the member asks. */
  | { readonly kind: 'notFound'; readonly missing: Missing; readonly name: string; readonly groupName?: string };

const COMMAND: MessageDecision = { kind: 'command' };
const POST: MessageDecision = { kind: 'post' };

/** Whitespace (non-breaking too) collapsed and trimmed. */
function normalize(text: string): string {
  return text
    .replace(/\u00a0/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * "Invite?" and "help!" are the commands: punctuation at the end of a phrase is how people type, not a sentence.
 * Only punctuation right after a word: "join !!!" is `join` with something that is not a link (and says so).
 */
export function withoutTrailingPunctuation(text: string): string {
  const match = /^(.*[^\s.!?,;:…])[.!?,;:…]+$/u.exec(text.trimEnd());
  return match ? match[1]! : text.trimEnd();
}

/** Text that is a command with or without a current group (no storage needed): "/..." or a phrase typed alone. */
export function isCommandWhateverTheGroup(text: string, vocabulary: CommandVocabulary): boolean {
  const t = normalize(text).toLowerCase();
  if (t.startsWith('/')) return true;
  const bare = withoutTrailingPunctuation(t);
  return vocabulary.some((c) => c.words.includes(t) || (bare !== '' && c.words.includes(bare)));
}

/**
 * What a member WITH a current group meant. `text` is the message without the bot's mention. The command is
 * the one whose words are the longest prefix, as the parser picks it ("remove admin Ann" is `remove admin`).
 */
export async function decideMessage(text: string, vocabulary: CommandVocabulary, resolver: CommandResolver): Promise<MessageDecision> {
  if (isCommandWhateverTheGroup(text, vocabulary)) return COMMAND;
  const t = normalize(text);
  const lower = t.toLowerCase();
  let best: { command: RuleCommand; words: string } | undefined;
  for (const command of vocabulary)
    for (const words of command.words)
      if (lower.startsWith(`${words} `) && words.length > (best?.words.length ?? -1)) best = { command, words };
  if (!best) return POST;
  const rest = t.slice(best.words.length).trim();
  const decision = await resolve(best.command.rest, rest, resolver);
  if (decision === 'resolved') return COMMAND;
  return best.command.unresolved === 'ask' && decision !== 'sentence' ? { kind: 'notFound', ...decision } : POST;
}

type Resolution = 'resolved' | 'sentence' | { missing: Missing; name: string; groupName?: string };

async function resolve(kind: CommandRest, rest: string, resolver: CommandResolver): Promise<Resolution> {
  switch (kind) {
    case 'none':
    case 'text':
      return 'sentence';
    case 'invite':
      return (await resolver.isValidInvite(rest)) ? 'resolved' : 'sentence';
    case 'group':
      return (await resolver.isMyGroup(rest)) ? 'resolved' : { missing: 'group', name: rest };
    case 'orgGroup':
      return (await resolver.isOrgGroup(rest)) ? 'resolved' : { missing: 'orgGroup', name: rest };
    default:
      return resolvePerson(kind, rest, resolver);
  }
}

/** "Ann Lee", "Ann Lee from Field Sales", or a name that itself holds the separator ("Ann from Accounts"). */
async function resolvePerson(kind: PersonRest, rest: string, resolver: CommandResolver): Promise<Resolution> {
  const found = (person: string, group: string | undefined): Promise<boolean> =>
    kind.person === 'member'
      ? resolver.isMember(person, group)
      : kind.person === 'admin'
        ? resolver.isAdmin(person, group)
        : resolver.isRemoved(person, group);
  const split = splitAt(rest, kind.separator);
  if (split.group !== undefined) {
    if (await resolver.isMyGroup(split.group)) {
      if (await found(split.person, split.group)) return 'resolved';
    } else if (kind.orgGroups && (await resolver.isOrgGroup(split.group))) {
      // Who is in it is for the organization admin's flow to check, once signed in.
      return 'resolved';
    }
  }
  if (await found(rest, undefined)) return 'resolved';
  if (split.group !== undefined && !(await resolver.isMyGroup(split.group))) return { missing: 'group', name: split.group };
  return { missing: kind.person, name: split.person, ...(split.group !== undefined ? { groupName: split.group } : {}) };
}

/** "Ann Lee from Field Sales" -> person "Ann Lee", group "Field Sales" (at the last separator). */
function splitAt(text: string, separator: 'from' | 'in'): { person: string; group?: string } {
  const match = new RegExp(`^(.*\\S)\\s+${separator}\\s+(\\S.*)$`, 'i').exec(text);
  return match ? { person: match[1]!.trim(), group: match[2]!.trim() } : { person: text };
}
