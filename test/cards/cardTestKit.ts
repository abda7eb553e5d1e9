/** Helpers for the card tests: walk a card's JSON, and assert a card is valid, small and safe. */
import assert from 'node:assert/strict';
import type { Attachment } from 'botbuilder';
import { formatText } from 'adaptivecards/lib/text-formatters';
import { MAX_CARD_BYTES, cardBytes, validateCard } from '../../cards/validate';
import { inline, plain, shown } from '../../cards/text';

export const HOSTILE_NAMES = [
  '[x](https://evil)**<at>a</at>',
  '<img src=x onerror=alert(1)>',
  '[Verify your account](https://evil.example/login) **URGENT** <at>Boss</at> <b>x</b> https://evil.example',
] as const;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(node: unknown, visit: (o: Json) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (isObject(node)) {
    visit(node);
    Object.values(node).forEach((v) => walk(v, visit));
  }
}

export function content(a: Attachment): Json {
  assert.equal(a.contentType, 'application/vnd.microsoft.card.adaptive');
  return a.content as Json;
}

/** Every string Teams processes as Markdown: TextBlock.text, Fact.title, Fact.value. */
export function markdownTexts(a: Attachment): string[] {
  const out: string[] = [];
  // fallbackText is what a client that cannot draw the card shows instead, and Teams reads it as Markdown.
  const fallback = content(a)['fallbackText'];
  if (typeof fallback === 'string') out.push(fallback);
  walk(content(a), (o) => {
    if (o['type'] === 'TextBlock' && typeof o['text'] === 'string') out.push(o['text']);
    if (Array.isArray(o['facts'])) {
      for (const f of o['facts'] as Json[]) out.push(String(f['title']), String(f['value']));
    }
  });
  return out;
}

/** Text shown as is, without Markdown: TextRun.text and the value of an Input.Text. */
export function literalTexts(a: Attachment): string[] {
  const out: string[] = [];
  walk(content(a), (o) => {
    if (o['type'] === 'TextRun' && typeof o['text'] === 'string') out.push(o['text']);
    if (o['type'] === 'Input.Text' && typeof o['value'] === 'string') out.push(o['value']);
  });
  return out;
}

export interface FoundAction {
  type: string;
  title: string;
  verb?: string;
  data?: Json;
  url?: string;
}

/** Every action, including those in ActionSets and in Action.ShowCard cards. */
export function actions(a: Attachment): FoundAction[] {
  const out: FoundAction[] = [];
  walk(content(a), (o) => {
    if (typeof o['type'] === 'string' && o['type'].startsWith('Action.')) {
      const data = isObject(o['data']) ? o['data'] : undefined;
      out.push({
        type: o['type'],
        title: String(o['title']),
        verb: typeof data?.['verb'] === 'string' ? data['verb'] : undefined,
        data,
        url: typeof o['url'] === 'string' ? o['url'] : undefined,
      });
    }
  });
  return out;
}

export function verbs(a: Attachment): string[] {
  return actions(a).flatMap((x) => (x.verb === undefined ? [] : [x.verb]));
}

export function button(a: Attachment, title: string): FoundAction {
  const found = actions(a).find((x) => x.title === title);
  assert.ok(
    found,
    `no button "${title}" in ${actions(a)
      .map((x) => x.title)
      .join(', ')}`,
  );
  return found;
}

/** Zero validation events at Adaptive Card 1.5, under 28 KB. */
export function assertValidCard(a: Attachment): void {
  assert.deepEqual(validateCard(a), []);
  assert.ok(cardBytes(a) < MAX_CARD_BYTES, `card is ${cardBytes(a)} bytes`);
  assert.equal(content(a)['version'], '1.5');
}

/**
 * The hostile text is shown literally: as typed (URLs defanged) in a TextRun, or with look-alike characters in
 * a Markdown field; no Markdown field holds a link, emphasis, a mention or a tag made from it, and no live URL
 * from it is anywhere in the card.
 */
export function assertShownLiterally(a: Attachment, hostile: string): void {
  for (const text of markdownTexts(a)) assertNoMarkup(text);
  // An Input.Text value is the user's own typing handed back for editing, and a mailto link is the email the
  // user writes from their own mail app (the template's words are the documents' business): neither is shown.
  const json = JSON.stringify(content(a), (key, value: unknown) =>
    (key === 'value' && typeof value === 'string') || (typeof value === 'string' && value.startsWith('mailto:')) ? '' : value,
  );
  for (const live of ['://evil', 'evil.example']) assert.ok(!json.includes(live), `a live "${live}" in the card: ${json}`);
  // Whole, or cut where a card cuts names (100 characters: a list's rows, a byline).
  const inRun = literalTexts(a).some(
    (t) => t.includes(shown(hostile)) || t.includes(shown(hostile, 100)) || t.startsWith(plain(hostile, 50).slice(0, 49)),
  );
  const inMarkdown = markdownTexts(a).some((t) => t.includes(inline(hostile)));
  assert.ok(inRun || inMarkdown, `"${hostile}" is not shown anywhere`);
}

/** A DATE or TIME function as clients fill it in: upper case, strict RFC 3339 in UTC, no milliseconds. */
const TIME_FUNCTION = /\{\{(?:DATE\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z, SHORT\)|TIME\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\))\}\}/g;

/**
 * The card shows `count` times, each as a DATE function (with its TIME where it has one) inside TextBlock text,
 * the one place the functions are documented to work; every function is one the adaptivecards renderer fills
 * in (none is left as raw `{{...}}` text), and "UTC" appears nowhere, fallbackText included.
 */
export function assertLocalTimes(a: Attachment, count: number): void {
  // Images are data URLs (the QR code), whose base64 may hold any three letters.
  const json = JSON.stringify(content(a), (_key, value: unknown) => (typeof value === 'string' && value.startsWith('data:') ? '' : value));
  assert.ok(!json.includes('UTC'), `"UTC" in the card: ${json}`);
  const blocks = markdownTexts(a);
  const dates = blocks.flatMap((t) => t.match(/\{\{DATE\(/g) ?? []).length;
  assert.equal(dates, count, `${count} dates in TextBlocks: ${blocks.join(' | ')}`);
  assert.equal(json.split('{{').length - 1, blocks.flatMap((t) => t.match(/\{\{/g) ?? []).length, 'a function outside a TextBlock');
  for (const text of blocks) {
    for (const fn of text.match(/\{\{[^}]*\}\}/g) ?? []) assert.match(fn, new RegExp(`^${TIME_FUNCTION.source}$`));
    const rendered = formatText('de-DE', text) ?? '';
    assert.ok(!rendered.includes('{{'), `a function the renderer does not fill in: ${text}`);
  }
}

/** Text Teams processes as Markdown (or HTML) holds no link, emphasis, mention, tag or live URL. */
export function assertNoMarkup(text: string): void {
  for (const fragment of ['](', ')**', '**URGENT', '<at', '</at>', '<img', '<b>', '</b>', '://evil', 'evil.example']) {
    assert.ok(!text.includes(fragment), `"${fragment}" in Markdown-processed text: ${text}`);
  }
}
