import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A small XML 1.0 well-formedness check for tests: fast-xml-parser's validator checks the tags, attributes and
 * quoting, and the character-level rules it lets through are checked here (no `]]>` in text, only the five
 * predefined or numeric entity references, no characters XML forbids). Returns the problem, or undefined.
 */
export function xmlProblem(xml: string): string | undefined {
  const result = XMLValidator.validate(xml);
  if (result !== true) return `${result.err.code} at ${result.err.line}:${result.err.col}: ${result.err.msg}`;
  const withoutCdata = xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  if (withoutCdata.includes(']]>')) return '"]]>" outside a CDATA section';
  const badEntity = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)/.exec(withoutCdata);
  if (badEntity !== null) return `bad entity reference at offset ${badEntity.index}`;
  const badChar = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(xml);
  if (badChar !== null) return `forbidden character U+${badChar[0].charCodeAt(0).toString(16)} at offset ${badChar.index}`;
  return undefined;
}

/** The decoded text of every element named `tag` (e.g. `a:t`), in document order. */
export function textOf(xml: string, tag: string): string[] {
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: false, processEntities: true });
  const out: string[] = [];
  const walk = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key);
    } else if (typeof node === 'string') {
      if (key === tag) out.push(node);
    } else if (node !== null && typeof node === 'object') {
      for (const [childKey, child] of Object.entries(node)) walk(child, childKey);
    }
  };
  walk(parser.parse(xml), undefined);
  return out;
}
