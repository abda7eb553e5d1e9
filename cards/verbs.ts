/**
 * The one table of card verbs. Every bot-bound button carries `{ verb, ...data }`; the glue dispatches on the
 * verb through one `Record<CardVerb, Handler>`, whether the click arrived as an `adaptiveCard/action` invoke
 * (Action.Execute) or as a message whose `value` is the data (Action.Submit).
 */
export const CARD_VERBS = [
  'createGroup', // start "new group"; from the name/photo prompts also carries `step` and the input value
  'showGroupInfo', // { groupId }
  'showInvite', // { groupId }
  'resetLink', // { groupId }: asks for confirmation
  'confirmResetLink', // { groupId }
  'showMembers', // { groupId }
  'membersPage', // { groupId, continuationToken?, search? } + input memberSearch (the Search button)
  'leaveGroup', // { groupId }: asks for confirmation
  'confirmLeave', // { groupId }
  'removeMember', // { groupId, userId }: asks for confirmation
  'confirmRemove', // { groupId, userId }: removes and bans (they cannot rejoin until allowed), and tells them
  'removeAdmin', // { groupId, userId }: an admin becomes a member again (never the last admin)
  'allowMember', // { groupId, userId }: lets a removed person join again
  'makeAdmin', // { groupId, userId }
  'manageMember', // { groupId, userId }: an admin's Manage on the members card (that member's card)
  'deleteGroup', // { groupId }: asks for confirmation
  'confirmDelete', // { groupId }
  'joinGroup', // { inviteCode } (or { token })
  'myGroups', // {}
  'myGroupsPage', // { continuationToken }
  'addToOrganization', // { groupId }
  'poster', // { groupId }
  'email', // { groupId }
  'saveDocumentDetails', // { groupId, kind: 'poster' | 'email', senderName, personalLine, organizationName }
  'skipPhoto', // {} during "new group"
  'cancel', // {}
  'help', // {}
  'orgGroupsPage', // { continuationToken }: organization admins' list of groups
  'exportGroup', // { groupId }: organization admins; the bot replies with a download link
  'replyToPost', // { groupId, seq } + input replyText: a reply posted to that group, whatever the current group
  'openGroup', // { groupId }: makes it the current group and shows Group Info
  'deletePost', // { groupId, seq }: asks for confirmation (admins and the sender)
  'confirmDeletePost', // { groupId, seq }: deletes the post for everyone
  'postIt', // { groupId, source } + input postText: posts what was typed (an admin's word that found nothing) when asked
  'switchGroup', // { groupId }: makes it the current group
  'historyPage', // { groupId, before }: earlier posts
  'saveSettings', // { groupId } + toggles onlyAdminsPost, historyForNewMembers, membersSeeEachOther; choices memberPostsTo, joinNotices (admins)
  'checkBulkList', // { groupId } + inputs addresses, addLeavers: the dry run of a pasted list (group admins)
  'confirmBulkAdd', // { groupId, addresses, addLeavers }: plans again and starts the job (group admins)
  'importPreview', // { token, dateOrder? } + input timeZone: the uploaded export's preview again (admins)
  'importConfirm', // { token } + input timeZone: imports the uploaded export (admins)
  'importedHistoryPage', // { groupId, before? }: imported earlier messages
  'undoImport', // { groupId, importId }: removes an import as a whole (admins)
  'newAnnouncement', // { groupId }: the form of an announcement (admins, and members where members may post)
  'newPoll', // { groupId }: the form of a poll
  'createAnnouncement', // { groupId } + inputs title, text, askConfirm, dueDate, dueTime: keeps and posts it
  'createPoll', // { groupId } + inputs question, option1..option10, multi, anonymous, resultsFor, closeDate, closeTime
  'confirmAction', // { groupId, actionId }: Got it (members)
  'voteAction', // { groupId, actionId } + input choice (comma-separated option indexes)
  'refreshAction', // { groupId, actionId }: the card as this member sees it now (Universal Actions' refresh)
  'notAnsweredPage', // { groupId, actionId, skip? } + input search: who hasn't (admins and the creator)
  'remindAction', // { groupId, actionId }: a reminder to those who haven't, once per 4 hours
  'closePoll', // { groupId, actionId }: locks voting and sends the results (admins and the creator)
] as const;

export type CardVerb = (typeof CARD_VERBS)[number];

export type CardData = Record<string, string | number | boolean>;

export interface ParsedCardAction {
  verb: CardVerb;
  data: CardData;
}

const VERB_SET: ReadonlySet<string> = new Set(CARD_VERBS);

export function isCardVerb(value: unknown): value is CardVerb {
  return typeof value === 'string' && VERB_SET.has(value);
}

/** The data a button carries: the verb first, then the flat data. `verb` in `data` cannot override it. */
export function actionData(verb: CardVerb, data: CardData = {}): { verb: CardVerb } & CardData {
  return { ...data, verb };
}

const MAX_KEYS = 32;
const MAX_KEY_CHARS = 64;
const MAX_STRING_CHARS = 4096;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a card click from either delivery:
 * - Action.Execute: the invoke's `activity.value` = `{ action: { type: 'Action.Execute', verb, data }, trigger }`;
 * - Action.Submit: the message's `activity.value` = `{ verb, ...data, ...inputs }` (Teams may add `msteams`).
 * Returns the verb and flat data (strings, finite numbers, booleans; `verb` and `msteams` removed), or a
 * short error for a 400 / a friendly "that button no longer works".
 */
export function parseCardAction(value: unknown): ParsedCardAction | { error: string } {
  if (!isRecord(value)) return { error: 'The card action has no data.' };

  let verb: unknown = value['verb'];
  let raw: unknown = value;
  const action = value['action'];
  if (isRecord(action) && (action['type'] === 'Action.Execute' || 'verb' in action)) {
    verb = action['verb'];
    raw = action['data'] ?? {};
    // Action.Execute puts the verb in `action.verb`; our data repeats it. If both exist they must agree.
    if (isRecord(raw) && raw['verb'] !== undefined && raw['verb'] !== verb) {
      return { error: 'The card action names two different verbs.' };
    }
  }

  if (typeof verb !== 'string' || verb.length === 0) return { error: 'The card action has no verb.' };
  if (!isCardVerb(verb)) return { error: `Unknown card verb "${verb.slice(0, 40)}".` };
  if (!isRecord(raw)) return { error: 'The card action data is not an object.' };

  const entries = Object.entries(raw).filter(([key]) => key !== 'verb' && key !== 'msteams');
  if (entries.length > MAX_KEYS) return { error: 'The card action carries too much data.' };

  const data: CardData = {};
  for (const [key, v] of entries) {
    if (key.length > MAX_KEY_CHARS || key === '__proto__' || key === 'constructor' || key === 'prototype') {
      return { error: 'The card action has an invalid field name.' };
    }
    if (typeof v === 'string') {
      if (v.length > MAX_STRING_CHARS) return { error: `The card action field "${key}" is too long.` };
      data[key] = v;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { error: `The card action field "${key}" is not a number.` };
      data[key] = v;
    } else if (typeof v === 'boolean') {
      data[key] = v;
    } else if (v === null || v === undefined) {
      continue; // an empty optional input
    } else {
      return { error: `The card action field "${key}" must be text, a number or true/false.` };
    }
  }
  return { verb, data };
}
