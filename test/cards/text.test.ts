import assert from 'node:assert/strict';
import { literal, plain, run, richText } from '../../cards/text';

describe('cards/text', () => {
  describe('literal()', () => {
    const cases: Array<[string, string, string]> = [
      ['a Markdown link with bold and a mention', '[x](https://evil)**<at>a</at>', '\\[x\\]\\(https://evil\\)\\*\\*\\<at\\>a\\</at\\>'],
      ['an HTML tag', '<img src=x onerror=alert(1)>', '\\<img src=x onerror=alert\\(1\\)\\>'],
      ['emphasis and strike-through', '_a_ *b* ~~c~~', '\\_a\\_ \\*b\\* \\~\\~c\\~\\~'],
      ['code, headings and quotes', '`x` # h > q', '\\`x\\` \\# h \\> q'],
      ['an entity and a backslash', 'R&amp;D \\ ok', 'R\\&amp;D \\\\ ok'],
      ['a list marker at the start', '- item', '\\- item'],
      ['a plus at the start', '+ item', '\\+ item'],
      ['a numbered list marker at the start', '1. first', '1\\. first'],
      ['a hyphen inside a name', 'North-East team', 'North-East team'],
      ['plain words', 'Field team North', 'Field team North'],
    ];
    for (const [what, input, expected] of cases) {
      it(`escapes ${what}`, () => assert.equal(literal(input), expected));
    }

    it('turns line breaks into spaces so that no new Markdown block can start', () => {
      assert.equal(literal('a\n# b\r\n- c'), 'a \\# b - c');
    });
  });

  describe('plain()', () => {
    it('removes bidirectional overrides that could disguise a name', () => {
      assert.equal(plain('abc\u202Egnp.exe'), 'abcgnp.exe');
    });

    it('turns control characters into spaces', () => {
      assert.equal(plain('a\u0000b\tc\u0085d'), 'a b c d');
    });

    it('cuts long text with an ellipsis without splitting an emoji', () => {
      const out = plain('😀'.repeat(300), 10);
      assert.equal(Array.from(out).length, 10);
      assert.ok(out.endsWith('…'));
      assert.ok(!/[\ud800-\udbff]…$/.test(out));
    });

    it('leaves Markdown alone (it is for TextRuns, which do not process Markdown)', () => {
      assert.equal(plain('[x](y)**'), '[x](y)**');
    });
  });

  it('puts user text in TextRuns, unchanged apart from control characters', () => {
    const block = richText(['Hi ', run('[x](https://evil)**', { weight: 'Bolder' })]);
    assert.deepEqual(block.inlines, [
      { type: 'TextRun', text: 'Hi ' },
      { type: 'TextRun', text: '[x](https://evil)**', weight: 'Bolder' },
    ]);
  });
});
