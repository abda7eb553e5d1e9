import assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/errors';
import { normalizeGroupName } from '../../src/groups/groupName';

function rejects(raw: string, message: RegExp): void {
  assert.throws(
    () => normalizeGroupName(raw),
    (err: unknown) => err instanceof InvalidInputError && message.test(err.userMessage),
  );
}

describe('normalizeGroupName', () => {
  it('trims surrounding whitespace', () => {
    assert.equal(normalizeGroupName('   Plant 2 crew \u00a0'), 'Plant 2 crew');
  });

  it('normalizes to NFC so the same name is stored the same way', () => {
    assert.equal(normalizeGroupName('Cafe\u0301 team'), 'Caf\u00e9 team');
  });

  it('keeps markdown, HTML and <at> as typed (cards escape them on display)', () => {
    const name = '**R&D** <b>Plant</b> <at>all</at> [x](http://e.x)';
    assert.equal(normalizeGroupName(name), name);
  });

  it('keeps emoji with zero-width joiners inside a visible name', () => {
    assert.equal(normalizeGroupName('Family \u{1F468}\u200d\u{1F469}\u200d\u{1F467}'), 'Family \u{1F468}\u200d\u{1F469}\u200d\u{1F467}');
  });

  it('rejects an empty or blank name', () => {
    rejects('', /type a name/);
    rejects('   \t  '.replace('\t', ' '), /type a name/);
  });

  it('accepts 100 characters, counting an emoji as one', () => {
    const name = '\u{1F600}'.repeat(100);
    assert.equal(normalizeGroupName(name), name);
  });

  it('rejects 101 characters', () => {
    rejects('a'.repeat(101), /at most 100 characters/);
    rejects('\u{1F600}'.repeat(101), /at most 100 characters/);
  });

  it('rejects line breaks, tabs and other C0 control characters', () => {
    rejects('first\nsecond', /one line/);
    rejects('first\r\nsecond', /one line/);
    rejects('a\tb', /one line/);
    rejects('bell\u0007', /one line/);
    rejects('nul\u0000', /one line/);
  });

  it('rejects DEL and C1 control characters', () => {
    rejects('del\u007f', /one line/);
    rejects('c1\u0085next', /one line/);
    rejects('c1\u009b', /one line/);
  });

  it('rejects Unicode line and paragraph separators', () => {
    rejects('a\u2028b', /one line/);
    rejects('a\u2029b', /one line/);
  });

  it('rejects bidi embeddings, overrides and isolates', () => {
    for (const ch of ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069']) {
      rejects(`invoice${ch}fdp.exe`, /text-direction/);
    }
  });

  it('rejects a name made only of zero-width characters', () => {
    rejects('\u200b\u200c\u200d', /visible character/);
    rejects('\u2060\ufeff\u200b', /visible character/);
  });

  it('rejects a name with a broken (unpaired surrogate) character', () => {
    rejects('bad \ud83d name', /broken character/);
  });
});
