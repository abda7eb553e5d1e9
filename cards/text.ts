/**
 * The one text policy for user text (group names, display names, typed organization names, anything a person typed)
 * in everything the bot sends: cards and plain messages. Whatever such text contains, it never becomes a link,
 * a mention or formatting.
 *
 * Three places, three functions, one policy underneath:
 *
 * 1. TextRuns (`run(text)` / `richText([...])`), and other places no client interprets (altText): `shown(text)`.
 *    The Adaptive Card schema says of TextRun.text: "Markdown is not supported", so the text displays as typed:
 *    "R&D <Plant 2>" stays so. This is what the cards use for user text. Only URLs and domain names are
 *    defanged (below), because some clients turn a bare URL into a link whatever the element.
 *
 * 2. Markdown-processed text: a plain message's `text`, TextBlock.text, Fact.title/value, fallbackText:
 *    `inline(text)`. Every character Teams' Markdown subset or its HTML handling could act on is replaced by a
 *    look-alike that means nothing (`[` -> `［`, `*` -> `∗`, `<` -> `‹`, `&` -> `＆`, ...), list markers at the
 *    start lose their shape, and URLs are defanged. Look-alikes rather than backslash escapes: escapes were
 *    shown literally or ignored on Teams mobile for years (AdaptiveCards#4677, #5590, #7474), and iOS
 *    HTML-escapes `<`, `>`, `&` itself (AdaptiveCards PR#5439); a look-alike reads the same on every client.
 *    `literal(text)` is the same function under its older name.
 *
 * 3. Defanging, in both: `https://evil.example/x` -> `https[:]//evil[.]example/x`, `www.evil.example` ->
 *    `www[.]evil[.]example`, `ann@evil.example` -> `ann@evil[.]example`. A dotted name whose last part looks
 *    like a top-level domain ("Ann.Lee") is defanged too: that is what an autolinker would take for a host.
 *
 * All of them first pass the text through `plain`: control characters and line breaks become spaces (a name is
 * one line; a newline would start a new Markdown block where `# ` or `- ` means something), and bidirectional
 * override characters are removed (they can make "gnp.exe" read as "exe.png").
 *
 * Proven names (a verified organization's name or domain, `ProvenName` below) are not typed text: a verified
 * domain keeps its dots (`provenRun`, `provenShown`, `provenInline`); only Markdown, and the URLs inside a
 * display name, are still taken from them.
 *
 * The bot's own words go into TextBlocks and messages as they are (they may use **bold**); the bot's own links
 * (the invite link) go into `ownRun`, which does not defang. Cards never build an adaptivecards-templating
 * template from user input; they are typed objects.
 */
import type { RichTextBlock, Spacing, TextRun, TextSize, TextWeight, TextColor } from './schema';

/** Longest user text a card shows in one place; longer text is cut with an ellipsis (keeps cards < 28 KB). */
export const MAX_DISPLAY_CHARS = 200;

// C0 and C1 control characters (tab, newline, carriage return included), line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
// Bidirectional embeddings, overrides and isolates; zero-width no-break space (BOM).
const BIDI = /[\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Text with control characters and line breaks turned into single spaces and bidi overrides removed. */
export function plain(text: string, maxChars: number = MAX_DISPLAY_CHARS): string {
  const cleaned = String(text).normalize('NFC').replace(BIDI, '').replace(CONTROL, ' ');
  const chars = Array.from(cleaned); // by code point, so a surrogate pair is never cut in half
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : cleaned;
}

// `scheme://host` (any scheme; a bare "https://" in a sentence links nowhere), and the schemes that link without
// slashes.
const SCHEME =
  /\b([a-z][a-z0-9+.-]{0,30}):(?=\/\/[^\s/])|\b(mailto|tel|sms|callto|skype|javascript|vbscript|data|file|msteams|ms-[a-z-]+):/gi;
// Dotted names: labels of letters, digits and hyphens, separated by a dot (or a dot that URL parsers read as one).
const DOTTED = /[\p{L}\p{N}-]+(?:[.\u3002\uff0e\uff61][\p{L}\p{N}-]+)+/gu;
const TLD_LIKE = /^(?:\p{L}{2,}|xn--[a-z0-9-]+)$/iu;
const IPV4_LIKE = /^\d{1,3}(?:[.\u3002\uff0e\uff61]\d{1,3}){3}$/u;

/** URLs, host names and e-mail domains made unclickable: `https://evil.example` -> `https[:]//evil[.]example`. */
export function defang(text: string): string {
  return text
    .replace(SCHEME, (_m, slashed: string | undefined, bare: string | undefined) => `${slashed ?? bare}[:]`)
    .replace(DOTTED, (token) => {
      const labels = token.split(/[.\u3002\uff0e\uff61]/u);
      const looksLikeHost = TLD_LIKE.test(labels[labels.length - 1]!) || IPV4_LIKE.test(token);
      return looksLikeHost ? labels.join('[.]') : token;
    });
}

/** User text where nothing is interpreted (TextRun, altText): as typed, cleaned, URLs defanged. */
export function shown(text: string, maxChars: number = MAX_DISPLAY_CHARS): string {
  return defang(plain(text, maxChars));
}

// Everything Teams' Markdown subset, CommonMark or the HTML handling could interpret anywhere in a line, each
// with a look-alike that means nothing: emphasis * _ ~, links [ ], code `, headings #, tags < >, entities &,
// tables |, the escape character. ( ) and ! mean nothing without [ ].
const LOOK_ALIKES: Record<string, string> = {
  '*': '\u2217', // ∗
  _: '\uff3f', // ＿
  '~': '\u223c', // ∼
  '`': '\u02cb', // ˋ
  '[': '\uff3b', // ［
  ']': '\uff3d', // ］
  '<': '\u2039', // ‹
  '>': '\u203a', // ›
  '#': '\uff03', // ＃
  '&': '\uff06', // ＆
  '|': '\u2223', // ∣
  '\\': '\uff3c', // ＼
};
const MARKUP = /[*_~`[\]<>#&|\\]/g;

/**
 * User text inside Markdown-processed text (a message, TextBlock.text, Fact.title/value, fallbackText), shown
 * as plain words: `[x](https://evil.example) **hi** <at>a</at>` becomes
 * `［x］(https[:]//evil[.]example) ∗∗hi∗∗ ‹at›a‹/at›`.
 */
export function inline(text: string, maxChars: number = MAX_DISPLAY_CHARS): string {
  return defang(withoutMarkup(text, maxChars));
}

/** Plain text with every Markdown or HTML character replaced by its look-alike (see `inline`). */
function withoutMarkup(text: string, maxChars: number): string {
  return (
    plain(text, maxChars)
      .replace(MARKUP, (c) => LOOK_ALIKES[c]!)
      // At the start only (newlines are gone): list markers "- ", "+ " and "1. " / "1) ".
      .replace(/^(\s*)([-+])(?=\s)/, (_m, space: string, marker: string) => `${space}${marker === '-' ? '\u2011' : '\uff0b'}`)
      .replace(/^(\s*\d+)[.)](?=\s|$)/, '$1\u2024')
  );
}

/** The older name of `inline`, for Markdown-processed card fields (Fact values, TextBlock text). */
export function literal(text: string, maxChars: number = MAX_DISPLAY_CHARS): string {
  return inline(text, maxChars);
}

declare const PROVEN: unique symbol;

/**
 * A name the bot proved instead of one somebody typed: the organization of a tenant mapping, which is the
 * tenant's display name from Microsoft Graph or a domain Entra ID verified for the tenant (the sign-in's
 * domain). Only `provenName` makes one, and only code that read the name from the mapping (never from a
 * message, a card input or a document profile) calls it.
 *
 * A proven name that is a domain shows as it is: "Owned by contoso-field.example", never
 * "contoso-field[.]example"; the domain is the proof people should be able to read. A display name shows as it
 * is too ("Contoso Field Services Ltd."), except a URL or host name inside it, which is defanged as in typed text:
 * any tenant's admin chooses its display name, and "[Sign in](https://evil.example)" is where a phishing tenant
 * would put a link. Either is cleaned (one line, no bidi overrides) and free of Markdown where Markdown is read.
 */
export type ProvenName = string & { readonly [PROVEN]: true };

/** Marks a name as proven. For the organization name of a tenant mapping only (see ProvenName). */
export function provenName(name: string): ProvenName;
export function provenName(name: string | undefined): ProvenName | undefined;
export function provenName(name: string | undefined): ProvenName | undefined {
  return name as ProvenName | undefined;
}

// The whole name one dotted host name (what a verified domain is): nothing around it to hide a link in.
const WHOLE_DOMAIN = /^[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+$/u;

/** A domain as it is; a display name with the hosts and URLs in it defanged. */
function provenDefang(cleaned: string): string {
  return WHOLE_DOMAIN.test(cleaned) ? cleaned : defang(cleaned);
}

/** A proven name where nothing is interpreted (TextRun, altText): cleaned, a domain as it is. */
export function provenShown(name: ProvenName, maxChars: number = MAX_DISPLAY_CHARS): string {
  return provenDefang(plain(name, maxChars));
}

/** A proven name inside Markdown-processed text (fallbackText, Fact values, messages): look-alikes, a domain as it is. */
export function provenInline(name: ProvenName, maxChars: number = MAX_DISPLAY_CHARS): string {
  return provenDefang(withoutMarkup(name, maxChars));
}

export interface RunStyle {
  size?: TextSize;
  weight?: TextWeight;
  color?: TextColor;
  isSubtle?: boolean;
  italic?: boolean;
  fontType?: 'Default' | 'Monospace';
}

/** A TextRun: shown as is by every client (no Markdown), URLs defanged. Safe for user text. */
export function run(text: string, style: RunStyle = {}, maxChars: number = MAX_DISPLAY_CHARS): TextRun {
  return { type: 'TextRun', text: shown(text, maxChars), ...style };
}

/** A TextRun of a proven name (a verified organization): shown as it is, domains not defanged. */
export function provenRun(name: ProvenName, style: RunStyle = {}, maxChars: number = MAX_DISPLAY_CHARS): TextRun {
  return { type: 'TextRun', text: provenShown(name, maxChars), ...style };
}

/** A TextRun of the bot's own text that must stay usable as is (the invite link); never user text. */
export function ownRun(text: string, style: RunStyle = {}, maxChars: number = MAX_DISPLAY_CHARS): TextRun {
  return { type: 'TextRun', text: plain(text, maxChars), ...style };
}

/** A RichTextBlock from runs; bare strings become unstyled runs (cut at 1,000 characters, not 200). */
export function richText(
  inlines: Array<string | TextRun>,
  options: { spacing?: Spacing; separator?: boolean; horizontalAlignment?: 'Left' | 'Center' | 'Right' } = {},
): RichTextBlock {
  return {
    type: 'RichTextBlock',
    inlines: inlines.map((part) => (typeof part === 'string' ? run(part, {}, 1000) : part)),
    ...options,
  };
}
