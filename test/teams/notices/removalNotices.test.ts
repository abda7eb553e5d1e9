import assert from 'node:assert/strict';
import type { Recipient } from '../../../src/delivery/ports';
import type { Group, Member } from '../../../src/groups/model';
import { createLogger } from '../../../src/logger';
import { RemovedMemberNotices } from '../../../src/teams/notices/removalNotices';
import { BackgroundWork } from '../../../src/teams/proactive';

const group = { id: 'g1', name: 'Alpha **Crew** https://evil.example' } as Group;
const chatRef = JSON.stringify({ conversation: { id: 'a:dave', tenantId: 'CONTOSO-TENANT' }, serviceUrl: 'https://smba.example' });
const dave: Member = { groupId: 'g1', user: { id: 'dave', name: 'Dave' }, role: 'member', joinedAt: '', conversationRef: chatRef };

describe('RemovedMemberNotices', () => {
  it('hands "An admin removed you from <group>." to the engine, keyed by the removal, in the member\'s own chat', async () => {
    const sent: Array<{ key: string; recipient: Recipient; activity: Record<string, unknown> }> = [];
    const background = new BackgroundWork(createLogger({ level: 'silent' }));
    const notices = new RemovedMemberNotices(
      { sendOneOff: async (key, recipient, activity) => void sent.push({ key, recipient, activity }) },
      background,
    );
    notices.memberRemoved(group, dave, 'act-1');
    await background.drain();
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.key, 'removed|g1|dave|act-1');
    assert.deepEqual([sent[0]!.recipient.userId, sent[0]!.recipient.tenantId], ['dave', 'contoso-tenant']);
    assert.equal(sent[0]!.activity['type'], 'message');
    // The group's name through the text rule: no formatting, no live link.
    assert.match(String(sent[0]!.activity['text']), /^An admin removed you from .*Crew.*\.$/);
    assert.doesNotMatch(String(sent[0]!.activity['text']), /\*\*|https:\/\/evil/);
  });

  it('tells nobody it cannot reach (no chat reference)', async () => {
    const sent: string[] = [];
    const background = new BackgroundWork(createLogger({ level: 'silent' }));
    const notices = new RemovedMemberNotices({ sendOneOff: async (key) => void sent.push(key) }, background);
    notices.memberRemoved(group, { ...dave, conversationRef: undefined }, 'act-2');
    notices.memberRemoved(group, { ...dave, conversationRef: 'not json' }, 'act-3');
    await background.drain();
    assert.deepEqual(sent, []);
  });
});
