import assert from 'node:assert/strict';
import { formatText } from 'adaptivecards/lib/text-formatters';
import { cardInstant, localDate, localDateTime } from '../../cards/localTime';

describe('times on cards (the reader fills in DATE and TIME)', () => {
  it('writes strict RFC 3339 in UTC without milliseconds, which the functions require', () => {
    assert.equal(cardInstant('2026-11-30T14:05:00.123Z'), '2026-11-30T14:05:00Z');
    assert.equal(cardInstant(new Date(Date.UTC(2025, 10, 26, 5, 35))), '2025-11-26T05:35:00Z');
    assert.equal(cardInstant('2026-11-30T15:05:00+01:00'), '2026-11-30T14:05:00Z');
    assert.equal(cardInstant('not a time'), undefined);
    assert.equal(cardInstant(new Date(Number.NaN)), undefined);
  });

  it('writes DATE (SHORT) and TIME functions, upper case, no spaces inside the braces or parentheses', () => {
    assert.equal(localDate('2026-11-30T14:05:00Z'), '{{DATE(2026-11-30T14:05:00Z, SHORT)}}');
    assert.equal(localDateTime('2026-11-30T14:05:00Z'), '{{DATE(2026-11-30T14:05:00Z, SHORT)}} {{TIME(2026-11-30T14:05:00Z)}}');
    assert.equal(localDateTime('nonsense'), '');
  });

  it('is filled in by the adaptivecards renderer in the reader\'s locale, with no "UTC"', () => {
    const text = `Until ${localDateTime('2026-11-30T14:05:00Z')}.`;
    const english = formatText('en-US', text) ?? '';
    const german = formatText('de-DE', text) ?? '';
    for (const rendered of [english, german]) {
      assert.ok(!rendered.includes('{{') && !rendered.includes('UTC'), rendered);
      assert.match(rendered, /2026/);
    }
    assert.match(english, /Nov/);
    assert.notEqual(english, german);
  });
});
