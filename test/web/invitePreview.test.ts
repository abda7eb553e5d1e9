import assert from 'node:assert/strict';
import sinon from 'sinon';
import { StorageUnavailableError } from '../../src/errors';
import { GroupService } from '../../src/groups/groupService';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { invitePreviewOf } from '../../src/web/landingPage';

describe('the landing page preview (invitePreviewOf)', () => {
  const alice = { id: 'alice', name: 'Alice' };
  let store: MemoryGroupStore;
  let groups: GroupService;

  beforeEach(() => {
    store = new MemoryGroupStore();
    groups = new GroupService({ store, appSecret: 'preview-test-secret-0123456789abcdef', publicUrl: 'https://bot.example.com' });
  });

  it("shows a current link's group name, member count and photo address", async () => {
    const group = await groups.createGroup({ name: 'Field team', creator: alice, idempotencyKey: 'conv|1' });
    const { token } = await groups.getInvite(group.id, alice);
    const preview = invitePreviewOf(groups, (g) => `https://bot.example.com/photo/${g.id}`);
    assert.deepEqual(await preview(token), {
      groupName: 'Field team',
      memberCount: 1,
      organizationName: undefined,
      photoUrl: `https://bot.example.com/photo/${group.id}`,
    });
  });

  it('answers "no such link" (undefined, the 404) for an unknown token', async () => {
    const preview = invitePreviewOf(groups, () => undefined);
    assert.equal(await preview('A'.repeat(32)), undefined);
  });

  it('answers "no such link" for a token of a link that was reset', async () => {
    const group = await groups.createGroup({ name: 'Field team', creator: alice, idempotencyKey: 'conv|2' });
    const { token } = await groups.getInvite(group.id, alice);
    await groups.resetInviteLink(group.id, alice);
    assert.equal(await invitePreviewOf(groups, () => undefined)(token), undefined);
  });

  it('lets a storage failure through, so nobody is told their link is invalid', async () => {
    const group = await groups.createGroup({ name: 'Field team', creator: alice, idempotencyKey: 'conv|3' });
    const { token } = await groups.getInvite(group.id, alice);
    sinon.stub(store, 'getGroup').rejects(new StorageUnavailableError('timeout', 'no answer'));
    try {
      await assert.rejects(invitePreviewOf(groups, () => undefined)(token), StorageUnavailableError);
    } finally {
      sinon.restore();
    }
  });
});
