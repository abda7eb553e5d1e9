import assert from 'node:assert/strict';
import { defang, inline, literal, plain, run, richText, shown } from '../../cards/text';
import { markdownSafe } from '../../src/teams/handlers/groupActions';

const PHISH = '[Verify your account](https://evil.example/login) **URGENT** <at>Boss</at> <b>x</b> https://evil.example';

describe('cards/text: the one policy for user text', () => {
  describe('inline(), for user text inside Markdown-processed text (messages, TextBlocks, facts)', () => {
    const cases: Array<[string, string, string]> = [
      [
        'a Markdown link with bold and a mention',
        '[x](https://evil)**<at>a</at>',
        '\uff3bx\uff3d(https[:]//evil)\u2217\u2217\u2039at\u203aa\u2039/at\u203a',
      ],
      ['an HTML tag', '<img src=x onerror=alert(1)>', '\u2039img src=x onerror=alert(1)\u203a'],
      ['emphasis and strike-through', '_a_ *b* ~~c~~', '\uff3fa\uff3f \u2217b\u2217 \u223c\u223cc\u223c\u223c'],
      ['code, headings and quotes', '`x` # h > q', '\u02cbx\u02cb \uff03 h \u203a q'],
      ['an entity and a backslash', 'R&amp;D \\ ok', 'R\uff06amp;D \uff3c ok'],
      ['a list marker at the start', '- item', '\u2011 item'],
      ['a plus at the start', '+ item', '\uff0b item'],
      ['a numbered list marker at the start', '1. first', '1\u2024 first'],
      ['a hyphen inside a name', 'North-East team', 'North-East team'],
      ['plain words', 'Field team North', 'Field team North'],
    ];
    for (const [what, input, expected] of cases) {
      it(`neutralises ${what}`, () => assert.equal(inline(input), expected));
    }

    it('turns the phishing display name into plain words with no link, emphasis, mention, tag or live URL', () => {
      const out = inline(PHISH);
      for (const fragment of ['](', '**', '<at', '<b>', 'https://', 'evil.example'])
        assert.ok(!out.includes(fragment), `${fragment} in ${out}`);
      assert.match(out, /Verify your account/);
      assert.match(out, /URGENT/);
      assert.match(out, /Boss/);
    });

    it('turns line breaks into spaces so that no new Markdown block can start', () => {
      assert.equal(inline('a\n# b\r\n- c'), 'a \uff03 b - c');
    });

    it('is what literal() and markdownSafe() do (one policy, older names)', () => {
      assert.equal(literal(PHISH), inline(PHISH));
      assert.equal(markdownSafe(PHISH), inline(PHISH));
      assert.equal(markdownSafe('  '), 'the group');
    });
  });

  describe('defang()', () => {
    const cases: Array<[string, string, string]> = [
      ['an https URL', 'see https://evil.example/login now', 'see https[:]//evil[.]example/login now'],
      ['a www host without a scheme', 'www.evil.example', 'www[.]evil[.]example'],
      ['a bare domain', 'evil.example', 'evil[.]example'],
      ['an e-mail address', 'ann@contoso.com', 'ann@contoso[.]com'],
      ['an IPv4 address', 'http://10.0.0.1/x', 'http[:]//10[.]0[.]0[.]1/x'],
      ['a mailto: link', 'mailto:ann@x.example', 'mailto[:]ann@x[.]example'],
      ['a javascript: link', 'javascript:alert(1)', 'javascript[:]alert(1)'],
      ['an ideographic full stop', 'evil\u3002example', 'evil[.]example'],
      ['a version number (left alone)', 'Team 1.5', 'Team 1.5'],
      ['initials (left alone)', 'J.R.R. Tolkien', 'J.R.R. Tolkien'],
      ['a colon in words (left alone)', 'Sales: North', 'Sales: North'],
      ['a bare scheme in a sentence (links nowhere, left alone)', 'Use an https:// link.', 'Use an https:// link.'],
    ];
    for (const [what, input, expected] of cases) {
      it(`handles ${what}`, () => assert.equal(defang(input), expected));
    }
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

  it('puts user text in TextRuns as typed, URLs defanged', () => {
    const block = richText(['Hi ', run('[x](https://evil)** <at>a</at>', { weight: 'Bolder' })]);
    assert.deepEqual(block.inlines, [
      { type: 'TextRun', text: 'Hi ' },
      { type: 'TextRun', text: '[x](https[:]//evil)** <at>a</at>', weight: 'Bolder' },
    ]);
    assert.equal(
      shown(PHISH),
      '[Verify your account](https[:]//evil[.]example/login) **URGENT** <at>Boss</at> <b>x</b> https[:]//evil[.]example',
    );
  });
});
