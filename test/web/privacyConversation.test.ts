import assert from 'node:assert/strict';
import { renderPrivacyPage } from '../../src/web/infoPages';

describe('The privacy page and the group conversation', () => {
  it('says that posts are stored (text, sender, tenant, replies, edits, deletions), from the chat and the tab', () => {
    const page = renderPrivacyPage();
    assert.match(
      page,
      /The group's conversation: each post's text, its sender \(display name, Teams user id and Microsoft 365 tenant id\)/,
    );
    assert.match(page, /in the chat with the bot or in the My groups tab/);
    assert.doesNotMatch(page, /not stored by the bot/);
  });

  it('says that deleting a group deletes its posts, that the export includes them, and how retention applies to posts', () => {
    assert.match(renderPrivacyPage(), /Deleting a group removes its members, its history, its posts/);
    assert.match(renderPrivacyPage(), /its posts included \(JSON and CSV\)/);
    assert.match(renderPrivacyPage({ retentionDays: 30 }), /Posts are deleted after 30 days/);
  });
});
