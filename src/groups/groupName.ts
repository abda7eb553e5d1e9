import { InvalidInputError } from '../errors';

export const GROUP_NAME_MAX_LENGTH = 100;

// With the `u` flag a surrogate range matches only unpaired halves: text damaged by a bad copy or truncation.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
// C0 controls (tab and newlines included), DEL and C1 controls: they break card layouts and logs.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/u;
// Line and paragraph separators render as line breaks, like \n.
const LINE_SEPARATORS = /[\u2028\u2029]/u;
// Bidi embeddings/overrides and isolates can make a name display as something else ("Trojan Source").
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/u;
// Invisible characters that are fine inside a name (joiners in emoji and Indic scripts) but not all of it.
const INVISIBLE = /[\s\u200b-\u200f\u2060-\u2064\ufeff\u180e\u034f\u115f\u1160\u3164\uffa0]/gu;

/**
 * Validates and canonicalizes a group name typed by a person. Markdown, HTML and `<at>` are allowed on purpose:
 * the cards escape them on display, and people do name groups "R&D <Plant 2>".
 */
export function normalizeGroupName(raw: string): string {
  if (typeof raw !== 'string') throw new InvalidInputError('Please type a name for the group.');
  if (LONE_SURROGATE.test(raw)) {
    throw new InvalidInputError('That name contains a broken character. Please type it again.');
  }
  const name = raw.normalize('NFC').trim();
  if (name.length === 0) throw new InvalidInputError('Please type a name for the group.');
  if (CONTROL_CHARACTERS.test(name) || LINE_SEPARATORS.test(name)) {
    throw new InvalidInputError('A group name must fit on one line, without tabs or invisible control characters.');
  }
  if (BIDI_CONTROLS.test(name)) {
    throw new InvalidInputError('A group name cannot contain text-direction control characters.');
  }
  if (name.replace(INVISIBLE, '').length === 0) {
    throw new InvalidInputError('A group name needs at least one visible character.');
  }
  // Count code points, not UTF-16 units, so that an emoji counts as one character.
  if ([...name].length > GROUP_NAME_MAX_LENGTH) {
    throw new InvalidInputError(`A group name can be at most ${GROUP_NAME_MAX_LENGTH} characters long.`);
  }
  return name;
}
