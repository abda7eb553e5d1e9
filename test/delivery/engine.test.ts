import assert from 'node:assert/strict';
import { chatOf, EngineWorld } from './engineHarness';

describe('Delivery engine: fan-out', function () {
  this.timeout(60_000);
  let world: EngineWorld;

  afterEach(async () => {
    await world?.close();
  });

  it('delivers a post once to every member but the sender, the muted, the departed and those who joined later', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = [...world.addMembers('g1', 90, 'tenant-a'), ...world.addMembers('g1', 40, 'tenant-b')];
    const sender = members[0]!;
    const muted = members[5]!;
    const departed = members[6]!;
    const late = members[7]!;
    world.source.addMember('g1', { ...muted, muted: true });
    world.source.addMember('g1', { ...late, joinedAt: new Date(Date.now() + 60_000).toISOString() });
    world.source.addPost({ groupId: 'g1', seq: 1, senderUserId: sender.userId, text: 'hello all' });
    const engine = world.engine();
    await engine.start();
    await engine.postAccepted('g1', 1);
    await engine.postAccepted('g1', 1); // a redelivered post is the same post
    world.source.removeMember('g1', departed.userId); // left after the post was accepted: no copy

    const expected = members.filter((m) => ![sender, muted, departed, late].includes(m)).map((m) => chatOf(m.userId));
    await world.channel.waitFor(() => world.copiesOf('g1', 1).size >= expected.length, 20_000, 'every copy');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const copies = world.copiesOf('g1', 1);
    assert.deepEqual([...copies.keys()].sort(), expected.sort());
    const dup = [...copies.entries()].filter(([, n]) => n > 1);
    if (dup.length) console.log(dup.slice(0, 5), world.channel.sends().filter((c) => c.conversationId === dup[0]![0]).map((c) => c.at), world.log.lines.filter((l) => (l.level as number) >= 40).slice(0, 10));
    assert.ok([...copies.values()].every((n) => n === 1), 'each member got the post once');
    const outbox = await world.tables.clients.outbox.getEntity(encodeURIComponent('g1'), 'post|0000000001').catch(() => undefined);
    await world.channel.waitFor(() => true);
    assert.equal(outbox === undefined || (outbox as { expanded?: boolean }).expanded === true, true);
  });

  it('gives each member a burst of posts in sequence order, each once', async () => {
    world = await EngineWorld.create({ tenantRps: 1_000 });
    const members = world.addMembers('g2', 30);
    const engine = world.engine();
    await engine.start();
    for (let seq = 1; seq <= 8; seq++) {
      world.source.addPost({ groupId: 'g2', seq, senderUserId: members[seq]!.userId, text: `post ${seq}` });
    }
    // Accepted out of order and concurrently, as parallel turns would.
    await Promise.all([3, 1, 2, 5, 4, 8, 7, 6].map((seq) => engine.postAccepted('g2', seq)));
    await world.channel.waitFor(() => world.channel.sends().length >= 8 * 29, 40_000, 'all copies');
    for (const member of members) {
      const texts = world.channel.textsByConversation().get(chatOf(member.userId)) ?? [];
      const seqs = texts.map((t) => Number(/^g2#(\d+) /.exec(t)![1]));
      const own = members.indexOf(member);
      const want = [1, 2, 3, 4, 5, 6, 7, 8].filter((s) => s !== own);
      assert.deepEqual(seqs, want, `${member.userId} got the posts in order, once each`);
    }
  });
});
