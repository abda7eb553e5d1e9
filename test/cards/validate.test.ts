import assert from 'node:assert/strict';
import { validateCard } from '../../cards/validate';

describe('cards/validate', () => {
  it('finds nothing wrong with a small valid 1.5 card', () => {
    assert.deepEqual(validateCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Hi' }] }), []);
  });

  it('reports unknown elements, bad property values and required inputs without an error message', () => {
    const problems = validateCard({
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlokk', text: 'x' },
        { type: 'TextBlock', text: 'x', size: 'Gigantic' },
        { type: 'Input.Text', id: 'a', label: 'A', isRequired: true },
      ],
    });
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0]!, /UnknownElementType/);
    assert.match(problems[1]!, /InvalidPropertyValue/);
    assert.match(problems[2]!, /RequiredInputsShouldHaveErrorMessage/);
  });

  it('reports an OpenUrl action without a url', () => {
    const problems = validateCard({ type: 'AdaptiveCard', version: '1.5', body: [], actions: [{ type: 'Action.OpenUrl', title: 'x' }] });
    assert.ok(
      problems.some((p) => /url/.test(p)),
      problems.join('\n'),
    );
  });

  it('reports a card of 28 KB or more', () => {
    const problems = validateCard({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'x'.repeat(29 * 1024) }] });
    assert.ok(
      problems.some((p) => p.startsWith('Size:')),
      problems.join('\n'),
    );
  });

  it('refuses something that is not a card object', () => {
    assert.deepEqual(validateCard('nope'), ['The card is not a JSON object.']);
  });
});
