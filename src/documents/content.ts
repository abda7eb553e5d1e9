import { InvalidInputError } from '../errors';

/**
 * The words shared by the poster and the email (step 4 of the move: "ask everyone to move their work chat").
 * The steps follow Kaizala's "Move existing groups" guide, retold for our bot in Teams and in our own words.
 * Everything a user typed (organization, group and bot names) goes through {@link cleanText} first.
 */

/** The longest organization or group name we print; longer names are cut with an ellipsis. */
export const MAX_NAME_LENGTH = 80;
/** The longest invite or install link we accept. */
export const MAX_URL_LENGTH = 1000;

/** What a reader needs in order to do one step. */
export interface MoveStep {
  title: string;
  detail: string;
}

/**
 * Characters that XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates) and the other
 * C0/C1 controls and bidi overrides that could hide or reorder text. Removed, never escaped.
 */
const UNWANTED =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes user text safe to print on one line: drops forbidden characters, turns every run of white space
 * (line breaks included) into one space, trims, and cuts it to `maxLength` code points with an ellipsis.
 * It does not escape: each output format escapes for itself.
 */
export function cleanText(value: string, maxLength: number = MAX_NAME_LENGTH): string {
  const oneLine = value.replace(UNWANTED, '').replace(/\s+/gu, ' ').trim();
  const codePoints = Array.from(oneLine);
  if (codePoints.length <= maxLength) return oneLine;
  return `${codePoints
    .slice(0, Math.max(1, maxLength - 1))
    .join('')
    .trimEnd()}…`;
}

/** Accepts only absolute http(s) links without credentials; returns the normalized href. */
export function checkLink(value: string, what: string): string {
  const trimmed = value.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new InvalidInputError(`The ${what} is not a valid link.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidInputError(`The ${what} must start with https://.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidInputError(`The ${what} must not contain a user name or password.`);
  }
  if (url.href.length > MAX_URL_LENGTH) {
    throw new InvalidInputError(`The ${what} is too long.`);
  }
  return url.href;
}

/** Checks a required name and cleans it; an empty result is refused. */
export function requireName(value: string, what: string, maxLength: number = MAX_NAME_LENGTH): string {
  const cleaned = cleanText(value, maxLength);
  if (cleaned === '') throw new InvalidInputError(`The ${what} is empty.`);
  return cleaned;
}

/** "Your organization" when the group is not mapped to one (or the name is blank). */
export function organizationLabel(organizationName: string | undefined): string {
  const cleaned = organizationName === undefined ? '' : cleanText(organizationName);
  return cleaned === '' ? 'Your organization' : cleaned;
}

/** The name to use in a sentence: "your organization" when unknown. */
export function organizationInSentence(organizationName: string | undefined): string {
  const cleaned = organizationName === undefined ? '' : cleanText(organizationName);
  return cleaned === '' ? 'your organization' : cleaned;
}

/** Join codes are short tokens we make; anything else is refused rather than printed. */
export function checkJoinCode(joinCode: string): string {
  const trimmed = joinCode.trim();
  if (!/^[A-Za-z0-9-]{4,32}$/.test(trimmed)) throw new InvalidInputError('The join code is not valid.');
  return trimmed;
}

/**
 * The four steps of moving a group, for someone who has a group on another chat app. Each step names only what
 * the product has: the Group Info card and its buttons, the Invite card's link, code, QR code and share buttons
 * (no copy button), and posts (no files). `botName` must already be cleaned.
 */
export function moveSteps(botName: string, organization: string): MoveStep[] {
  return [
    {
      title: 'Start a new group',
      detail: `In Microsoft Teams, open a chat with ${botName}, send "new group" and give the group a name.`,
    },
    {
      title: 'Open Group Info',
      // With a leading "/" a command is never taken for a post to the group, whatever the member's current group.
      detail: `${botName} answers with the new group's Group Info card; send "/group" to see it again.`,
    },
    {
      title: 'Invite your people',
      detail:
        "Choose Invite People: it shows the group's link, a join code, a QR code and buttons that share the link " +
        'on WhatsApp, Telegram, SMS, email or Teams. Post the link in your old group on the other app. ' +
        'Whoever has the link can join, so share it only where it belongs.',
    },
    {
      title: 'Add it to the organization',
      detail: `Choose More > Add to organization and sign in with your work account. From then on the group, its members and its posts belong to ${organization}, not to a personal account.`,
    },
  ];
}

/** The short "why" line under the title. `organization` must already be cleaned. */
export function whyLine(organization: string): string {
  return `When work talk lives on personal chat apps, ${organization} does not own it. In Teams, it stays with ${organization}.`;
}

/** The way to find the bot in Teams (intro poster and email). */
export function findBotLine(botName: string): string {
  return `In Microsoft Teams, select Apps, search for "${botName}", then select Add and open the chat.`;
}

/** Who speaks on a poster or in the email, and for whom: kept per group (see DocumentProfile). */
export interface Voice {
  /** The verified organization name of a mapped group, or the name the owner typed for an unmapped one. */
  organizationName?: string;
  /**
   * True when the group is mapped to the organization (step 3 done). Only then may a document say that the
   * organization owns the group; for a private group the organization is only who the sender works for.
   */
  organizationOwnsGroup?: boolean;
  /** The person the email is from and posters name for questions. */
  senderName?: string;
  /** A short personal line from the sender, printed as a quote. */
  personalLine?: string;
}

/** The longest sender name and personal line we keep and print. */
export const MAX_SENDER_NAME_LENGTH = 60;
export const MAX_PERSONAL_LINE_LENGTH = 160;

/** Cleans the optional parts of a voice: blank means absent. */
export function cleanVoice(voice: Voice): { organization?: string; owned?: true; sender?: string; line?: string } {
  const opt = (value: string | undefined, max: number) => {
    const cleaned = value === undefined ? '' : cleanText(value, max);
    return cleaned === '' ? undefined : cleaned;
  };
  const organization = opt(voice.organizationName, MAX_NAME_LENGTH);
  const sender = opt(voice.senderName, MAX_SENDER_NAME_LENGTH);
  const line = opt(voice.personalLine, MAX_PERSONAL_LINE_LENGTH);
  return {
    ...(organization ? { organization } : {}),
    ...(organization && voice.organizationOwnsGroup === true ? { owned: true as const } : {}),
    ...(sender ? { sender } : {}),
    ...(line ? { line } : {}),
  };
}

/** The "why" line without an organization name. */
export function whyLineFor(organization: string | undefined): string {
  return organization === undefined
    ? 'When work talk lives on personal chat apps, nobody at work owns it. In Teams, it stays at work.'
    : whyLine(organization);
}

/**
 * How the invite page lets people join: its Open in Teams button (a bot with an app id, as deployed), or, for a
 * bot tried locally without one, the join message the page shows, to send to the bot by hand.
 */
export type JoinPath = 'teamsButton' | 'message';

/** The three steps of joining a group from its link, for the join poster and the email. */
export function joinSteps(botName: string, path: JoinPath = 'teamsButton'): MoveStep[] {
  return [
    path === 'teamsButton'
      ? {
          title: 'Scan the code or open the link',
          detail: 'On your phone or computer. The page shows the group and an Open in Teams button.',
        }
      : {
          title: 'Scan the code or open the link',
          detail: 'On your phone or computer. The page shows the group and its join message.',
        },
    path === 'teamsButton'
      ? { title: 'Press Send', detail: `Teams opens a chat with ${botName} with the join message ready.` }
      : { title: 'Send the join message', detail: `Copy the message the page shows and send it to ${botName} in your chat with it.` },
    { title: "You're in", detail: `Sign in with your work account if Teams asks. The group's posts come to your chat with ${botName}.` },
  ];
}

/**
 * The longest link a poster prints. An invite link is PUBLIC_URL + "/join/" + a 22-character token, so every
 * link of one deployment has the same length; this bounds PUBLIC_URL at about 120 characters.
 */
export const MAX_POSTER_LINK_CHARS = 150;
/** Average glyph width of Segoe UI / most sans-serif fonts as a share of the point size (generous for URLs). */
export const GLYPH_WIDTH_EM = 0.6;
export const MAX_LINK_POINTS = 18;

/**
 * The largest font size (in half points, at most MAX_LINK_POINTS) at which a link of `chars` characters fits
 * on one line of a box `widthInches` wide: chars x 0.6 x points <= width in points.
 */
export function linkFontSize(chars: number, widthInches: number): number {
  const fitting = (widthInches * 72) / (chars * GLYPH_WIDTH_EM);
  return Math.min(MAX_LINK_POINTS, Math.floor(fitting * 2) / 2);
}
