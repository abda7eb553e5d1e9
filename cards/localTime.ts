/**
 * Times on cards, in the reader's time zone and locale. A card is built once and read by many people in many
 * zones, so the bot cannot format the time itself: it writes Adaptive Cards' `{{DATE()}}` / `{{TIME()}}`
 * functions and each client fills them in with the reader's local date and time ("Wed, Nov 26, 2025 5:35 AM"
 * in New York, "Mi., 26. Nov. 2025 11:35" in Berlin).
 *
 * The functions are documented for TextBlock text only, so a time always goes in a TextBlock of its own,
 * never in a TextRun or a Fact. The client shows the raw `{{...}}` text when the function is malformed: it must
 * be upper case, without spaces inside the braces or parentheses, with a strict RFC 3339 time (seconds, and
 * `Z` or an offset; no milliseconds). `cardInstant` makes exactly that form.
 */

/** RFC 3339 in UTC without milliseconds (`2025-11-26T05:35:00Z`); undefined for an invalid date. */
export function cardInstant(at: Date | string): string | undefined {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The reader's local date, e.g. "Wed, Nov 26, 2025"; empty for an invalid date. */
export function localDate(at: Date | string): string {
  const instant = cardInstant(at);
  return instant === undefined ? '' : `{{DATE(${instant}, SHORT)}}`;
}

/** The reader's local date and time, e.g. "Wed, Nov 26, 2025 5:35 AM"; empty for an invalid date. */
export function localDateTime(at: Date | string): string {
  const instant = cardInstant(at);
  return instant === undefined ? '' : `{{DATE(${instant}, SHORT)}} {{TIME(${instant})}}`;
}
