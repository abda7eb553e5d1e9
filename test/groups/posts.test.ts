import assert from 'node:assert/strict';
import { normalizePostText, postLength, previewOf } from '../../src/groups/posts';

describe('post text', () => {
  it('shows a mention as "@Name" (no ping), keeps line breaks and decodes the entities Teams sends', () => {
    assert.equal(normalizePostText('Hi <at>Ann Lee</at>,\r\nline two &amp; more&nbsp;x'), 'Hi @Ann Lee,\nline two & more x');
  });

  it('drops control characters but keeps tabs and newlines', () => {
    assert.equal(normalizePostText('a\u0007b\tc\nd'), 'ab\tc\nd');
  });

  it('counts characters as people do (an emoji is one)', () => {
    assert.equal(postLength('👍👍'), 2);
  });

  it('previews the first words on one line, cut at a word with "..."', () => {
    assert.equal(previewOf('short one'), 'short one');
    const long = 'The delivery for the north depot is late again and the driver says the road is closed';
    const preview = previewOf(long);
    assert.ok(preview.endsWith('...') && preview.length <= 63, preview);
    assert.ok(long.startsWith(preview.slice(0, -3)));
    assert.equal(previewOf('line one\nline two'), 'line one line two');
  });
});
