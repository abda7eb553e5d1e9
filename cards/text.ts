/**
 * User-supplied text (group names, member names, organization names) in cards.
 *
 * Two ways to show such text so that it displays exactly as typed:
 *
 * 1. `run(text)` / `richText([...])`: a RichTextBlock of TextRuns. The Adaptive Card schema says of
 *    TextRun.text: "Markdown is not supported", so nothing in the text is interpreted and nothing needs escaping.
 *    This is what the cards use for user text, because escaping is where clients disagree: backslash escapes
 *    were shown literally or ignored on Teams mobile for years (AdaptiveCards#4677, #5590, #7474; fixed in
 *    Teams-AdaptiveCards-Mobile#58 and #83 only in 2023-24), and iOS HTML-escapes `<`, `>`, `&` itself
 *    (AdaptiveCards PR#5439), so an HTML entity such as `&lt;` would show as "&lt;".
 *
 * 2. `literal(text)`: for the fields that ARE processed as Markdown (TextBlock.text, Fact.title, Fact.value),
 *    when a FactSet is the right element. It backslash-escapes every character that Teams' Markdown subset
 *    or its HTML handling could interpret. CommonMark lets any ASCII punctuation be backslash-escaped, so
 *    `\<` and `\&` are escapes, too: `<at>…</at>` (a mention only with a matching `msteams.entities` entry,
 *    which we never create from user text) and tags like `<img …>` lose their shape, and an entity like
 *    `&amp;` stays literal.
 *
 * Both first pass the text through `plain`: control characters and line breaks become spaces (a name is
 * one line; a newline would start a new Markdown block where `# ` or `- ` means something), and bidirectional
 * override characters are removed (they can make "gnp.exe" read as "exe.png").
 *
 * Cards never build an adaptivecards-templating template from user input; they are typed objects.
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
  const cleaned = text.normalize('NFC').replace(BIDI, '').replace(CONTROL, ' ');
  const chars = Array.from(cleaned); // by code point, so a surrogate pair is never cut in half
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : cleaned;
}

// Everything Teams' Markdown subset, CommonMark or the HTML handling could interpret anywhere in a line:
// emphasis * _ ~, links and images [ ] ( ) !, code `, headings #, quotes and tags > <, entities &, tables |,
// and the escape character itself.
const MARKDOWN_ANYWHERE = /[\\`*_~[\]()#<>&!|{}]/g;

/**
 * Text for a Markdown-processed field (TextBlock.text, Fact.title, Fact.value) that displays literally:
 * `[x](https://evil)**<at>a</at>` becomes `\[x\]\(https://evil\)\*\*\<at\>a\</at\>`.
 */
export function literal(text: string, maxChars: number = MAX_DISPLAY_CHARS): string {
  let out = plain(text, maxChars).replace(MARKDOWN_ANYWHERE, (c) => `\\${c}`);
  // At the start of a line only: list markers "- ", "+ " and "1. " / "1) ". (Newlines are gone, so the
  // only line start is the start of the text; `#` and `>` are escaped everywhere above.)
  out = out.replace(/^(\s*)([-+])/, '$1\\$2').replace(/^(\s*\d+)([.)])/, '$1\\$2');
  return out;
}

export interface RunStyle {
  size?: TextSize;
  weight?: TextWeight;
  color?: TextColor;
  isSubtle?: boolean;
  italic?: boolean;
  fontType?: 'Default' | 'Monospace';
}

/** A TextRun: shown as is by every client (no Markdown). Safe for user text. */
export function run(text: string, style: RunStyle = {}, maxChars: number = MAX_DISPLAY_CHARS): TextRun {
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
