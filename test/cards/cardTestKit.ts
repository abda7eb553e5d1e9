/** Helpers for the card tests: walk a card's JSON, and assert a card is valid, small and safe. */
import assert from 'node:assert/strict';
import type { Attachment } from 'botbuilder';
import { MAX_CARD_BYTES, cardBytes, validateCard } from '../../cards/validate';

export const HOSTILE_NAMES = ['[x](https://evil)**<at>a</at>', '<img src=x onerror=alert(1)>'] as const;

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
  assert.ok(found, `no button "${title}" in ${actions(a).map((x) => x.title).join(', ')}`);
  return found;
}

/** Zero validation events at Adaptive Card 1.5, under 28 KB. */
export function assertValidCard(a: Attachment): void {
  assert.deepEqual(validateCard(a), []);
  assert.ok(cardBytes(a) < MAX_CARD_BYTES, `card is ${cardBytes(a)} bytes`);
  assert.equal(content(a)['version'], '1.5');
}

/**
 * The hostile text is shown literally: it appears as typed in a TextRun (no Markdown) or escaped in a
 * Markdown field, and no Markdown field holds a link, emphasis, a mention or a tag made from it.
 */
export function assertShownLiterally(a: Attachment, hostile: string): void {
  const md = markdownTexts(a);
  for (const text of md) {
    const unescaped = text.replace(/\\[\s\S]/g, ''); // drop every backslash-escaped character
    for (const fragment of ['[x](', ')**', '<at>', '</at>', '<img', 'alert(1)>']) {
      assert.ok(!unescaped.includes(fragment), `unescaped "${fragment}" in the Markdown text: ${text}`);
    }
  }
  const inRun = literalTexts(a).some((t) => t.includes(hostile));
  const escaped = md.some((t) => t.includes('\\[x\\]\\(') || t.includes('\\<img'));
  assert.ok(inRun || escaped, `"${hostile}" is not shown anywhere`);
}
