import { InvalidInputError } from '../errors';

/*
 * Wall-clock times of an export (no offset in them) to instants, in an IANA zone, with Intl only: the zone data
 * comes with Node, and no date library is needed for this one conversion.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new InvalidInputError(`"${timeZone}" is not a time zone. Use a name like Europe/Berlin or America/New_York.`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Throws InvalidInputError when the name is not a zone Node knows. */
export function checkTimeZone(timeZone: string): string {
  return formatterFor(timeZone).resolvedOptions().timeZone;
}

/**
 * Offsets by zone and quarter hour: zones change their offset only at quarter hours, and an export's 40,000
 * messages fall in far fewer quarter hours than that (formatToParts is the costly part of a conversion).
 */
const QUARTER_HOUR_MS = 15 * 60 * 1000;
const offsets = new Map<string, number>();
const MAX_CACHED_OFFSETS = 100_000;

/** The zone's offset from UTC at that instant, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(instant / QUARTER_HOUR_MS)}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    if (offsets.size >= MAX_CACHED_OFFSETS) offsets.clear();
    offset = computeOffsetAt(Math.floor(instant / QUARTER_HOUR_MS) * QUARTER_HOUR_MS, timeZone);
    offsets.set(key, offset);
  }
  return offset;
}

function computeOffsetAt(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * The instant the wall clock showed in the zone. Twice the offset lookup, because the offset at the guess may be
 * the other side of a change; a time skipped by a change (spring forward) lands after it, as clocks do.
 */
export function instantOf(clock: WallClock, timeZone: string): Date {
  const wall = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute, clock.second);
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return new Date(second);
}
