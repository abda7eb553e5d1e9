/** Small element helpers shared by the cards. Only for the bot's own words; user text goes through `text.ts`. */
import type { ActionSet, CardAction, RichTextBlock, Spacing, TextBlock, TextColor, TextRun } from './schema';
import { richText, run } from './text';

export function heading(text: string): TextBlock {
  return { type: 'TextBlock', text, style: 'heading', size: 'Large', weight: 'Bolder', wrap: true };
}

export function paragraph(
  text: string,
  options: { isSubtle?: boolean; spacing?: Spacing; color?: TextColor; size?: 'Small' | 'Default' } = {},
): TextBlock {
  return { type: 'TextBlock', text, wrap: true, ...options };
}

export function actionSet(actions: CardAction[], spacing?: Spacing): ActionSet {
  return spacing === undefined ? { type: 'ActionSet', actions } : { type: 'ActionSet', actions, spacing };
}

/** "Ann, Bob, Cy and 4 more" from the first few names and the total. */
export function namesAndMore(names: readonly string[], total: number, show = 3): string {
  const shown = names.slice(0, show);
  const rest = Math.max(0, total - shown.length);
  if (shown.length === 0) return total > 0 ? `${total} people` : 'nobody yet';
  if (rest === 0) return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
  return `${shown.join(', ')} and ${rest} more`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/**
 * A heading made of TextRuns, so parts may be user text (strings, shown literally) or runs made already (a
 * proven name's `provenRun`), which take the heading's size and weight.
 */
export function richHeading(...parts: Array<string | TextRun>): RichTextBlock {
  const style = { size: 'Large', weight: 'Bolder' } as const;
  return richText(parts.map((part) => (typeof part === 'string' ? run(part, style) : { ...part, ...style })));
}
