import assert from 'node:assert/strict';
import { ForbiddenError, NotFoundError, RateLimitedError } from '../../src/errors';
import { GroupService, inviteLinkTag, RemovedFromGroupError } from '../../src/groups/groupService';
import type { AuditEntry, Group, JoinScope, UserRef } from '../../src/groups/model';
import { JoinCodeLimiter } from '../../src/groups/joinAttemptLimiter';
import type { WindowCounter } from '../../src/groups/joinAttemptLimiter';
import type { GroupStore } from '../../src/groups/ports';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { MemoryWindowCounter } from '../../src/storage/memoryWindowCounter';
import { TableGroupStore } from '../../src/storage/tableGroupStore';
import { TableWindowCounter } from '../../src/storage/windowCounter';
import { freshTables } from '../helpers/azurite';

const SECRET = 'races-test-secret-0123456789abcdef';
const PUBLIC_URL = 'https://bot.example.com';
const TENANT = '11111111-2222-3333-4444-555555555555';

const alice: UserRef = { id: 'alice', name: 'Alice' };
const bob: UserRef = { id: 'bob', name: 'Bob Ray' };
const carol: UserRef = { id: 'carol', name: 'Carol' };

let keyCounter = 0;
const freshKey = () => `conv|races-${++keyCounter}`;

type Outcome = 'joined' | 'not_valid' | 'too_many' | 'other';

/** Where the suite's "bot processes" keep their state: each call is one more process on the same store. */
interface Backend {
  name: string;
  /** Real storage runs only the races between two instances (the rest is the same domain logic). */
  real: boolean;
  open(): Promise<{ store(): GroupStore; counter(): WindowCounter }>;
}

const backends: Backend[] = [
  {
    name: 'in memory',
    real: false,
    open: async () => {
      const [store, counter] = [new MemoryGroupStore(), new MemoryWindowCounter()];
      return { store: () => store, counter: () => counter };
    },
  },
  {
    name: 'Azurite',
    real: true,
    open: async () => {
      const { clients } = await freshTables();
      return { store: () => new TableGroupStore(clients), counter: () => new TableWindowCounter(clients.limits) };
    },
  },
];

/** Registers nothing: for cases real storage need not repeat. */
const notHere = (() => undefined) as unknown as Mocha.TestFunction;

/**
 * The races of issue 8 item 4 and the bans of item 5, on the domain. "Two instances" are two services with
 * their own stores, caches and limiters on the same storage, as two bot processes would be. The stores pass one
 * contract (test/storage/groupStoreContract.ts); real storage repeats the races between two instances.
 */
for (const backend of backends)
  describe(`Races closed in storage, and removed means removed (${backend.name})`, () => {
    let storage: Awaited<ReturnType<Backend['open']>>;
    const it = backend.real ? notHere : globalThis.it;
    const raceIt = globalThis.it;

    before(async () => {
      storage = await backend.open();
    });

    /** A bot process: its own store (caches), its own limiter state, the shared storage. */
    function instance(options: { checks?: number } = {}): GroupService {
      return new GroupService({
        store: storage.store(),
        appSecret: SECRET,
        publicUrl: PUBLIC_URL,
        joinCodeAttempts: new JoinCodeLimiter(storage.counter(), { checks: options.checks ?? 10 }),
      });
    }

    async function groupWith(service: GroupService, members: UserRef[], name = 'Field team'): Promise<Group> {
      const group = await service.createGroup({ name, creator: alice, idempotencyKey: freshKey() });
      const { url } = await service.getInvite(group.id, alice);
      for (const user of members) await service.join({ ref: url, user });
      return group;
    }

    async function auditOf(service: GroupService, groupId: string): Promise<AuditEntry[]> {
      return (await service.auditTrail(groupId, { pageSize: 100 })).items;
    }

    async function outcomeOf(join: Promise<unknown>): Promise<Outcome> {
      try {
        await join;
        return 'joined';
      } catch (err) {
        if (err instanceof RateLimitedError) return 'too_many';
        if (err instanceof NotFoundError) return 'not_valid';
        return 'other';
      }
    }

    describe('resetting the link', () => {
      raceIt(
        'resets once when two admins reset from the same link tag at the same moment, on two instances; both get the link that won',
        async () => {
          const [one, two] = [instance(), instance()];
          for (let trial = 0; trial < 5; trial++) {
            const group = await groupWith(one, []);
            const shown = await one.getInvite(group.id, alice);
            const from = { linkTag: inviteLinkTag(shown.token) };
            const [a, b] = await Promise.all([
              one.resetInviteLinkFrom(group.id, alice, from),
              two.resetInviteLinkFrom(group.id, alice, from),
            ]);
            assert.deepEqual([a.reset, b.reset].sort(), [false, true], 'exactly one of them reset');
            assert.equal(a.invite.url, b.invite.url, 'both show the same link');
            assert.notEqual(a.invite.url, shown.url);
            assert.equal((await auditOf(one, group.id)).filter((e) => e.action === 'link_reset').length, 1);
            // The link both were shown works, by link and by code, on either instance.
            assert.equal((await two.join({ ref: a.invite.url, user: bob })).alreadyMember, false);
            assert.equal(
              (await one.join({ ref: b.invite.joinCode, user: carol, scope: { tenantId: `trial-${trial}` } })).alreadyMember,
              false,
            );
          }
        },
      );

      it('resets once from the same link URL (the tab) when two requests race on one instance', async () => {
        const service = instance();
        const group = await groupWith(service, []);
        const shown = await service.getInvite(group.id, alice);
        const results = await Promise.all(
          Array.from({ length: 4 }, () => service.resetInviteLinkFrom(group.id, alice, { url: shown.url })),
        );
        assert.equal(results.filter((r) => r.reset).length, 1);
        assert.equal(new Set(results.map((r) => r.invite.url)).size, 1);
        assert.equal((await service.getInvite(group.id, alice)).url, results[0]!.invite.url);
      });

      it('resets nothing from a link that is no longer current, and only for admins', async () => {
        const service = instance();
        const group = await groupWith(service, [bob]);
        const shown = await service.getInvite(group.id, alice);
        await assert.rejects(service.resetInviteLinkFrom(group.id, bob, { url: shown.url }), ForbiddenError);
        const first = await service.resetInviteLinkFrom(group.id, alice, { url: shown.url });
        const again = await service.resetInviteLinkFrom(group.id, alice, { url: shown.url });
        assert.equal(again.reset, false);
        assert.equal(again.invite.url, first.invite.url);
      });
    });

    describe('join codes counted before they are checked', () => {
      raceIt(
        'checks at most 10 of 100 parallel joins from one user on two instances, so the right code at position 25 never gets in',
        async () => {
          const [one, two] = [instance(), instance()];
          const group = await groupWith(one, []);
          const { joinCode } = await one.getInvite(group.id, alice);
          const guesser: UserRef = { id: 'guesser-1', name: 'Guesser' };
          const scope: JoinScope = { conversationId: 'a:guesser-1', tenantId: 'tenant-burst' };
          const outcomes = await Promise.all(
            Array.from({ length: 100 }, (_, i) => {
              const code = i === 24 ? joinCode : `ZZZZZ-${String(10000 + i).slice(-5)}`;
              return outcomeOf((i % 2 === 0 ? one : two).join({ ref: code, user: guesser, scope }));
            }),
          );
          const checked = outcomes.filter((o) => o === 'not_valid' || o === 'joined').length;
          assert.ok(checked <= 10, `${checked} codes were checked`);
          assert.equal(outcomes.filter((o) => o === 'too_many').length, 100 - checked);
          assert.equal(outcomes[24], 'too_many');
          assert.equal((await one.getGroup(group.id)).memberCount, 1, 'the guesser is not a member');
        },
      );

      it('still limits a new user id per try by the conversation, and by the tenant across conversations', async () => {
        const service = instance();
        const sameChat = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            outcomeOf(
              service.join({
                ref: 'ZZZZZ-ZZZZZ',
                user: { id: `chat-${i}`, name: 'x' },
                scope: { conversationId: '19:chat@thread.v2', tenantId: 'tenant-chat' },
              }),
            ),
          ),
        );
        assert.ok(sameChat.filter((o) => o === 'not_valid').length <= 10);
        assert.ok(sameChat.filter((o) => o === 'too_many').length >= 20);

        const ownChats = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            outcomeOf(
              service.join({
                ref: 'ZZZZZ-ZZZZZ',
                user: { id: `own-${i}`, name: 'x' },
                scope: { conversationId: `a:own-${i}`, tenantId: 'tenant-wide' },
              }),
            ),
          ),
        );
        assert.ok(ownChats.filter((o) => o === 'not_valid').length <= 10);
        assert.ok(ownChats.filter((o) => o === 'too_many').length >= 20);
      });

      it('does not count joins by link, however many', async () => {
        const service = instance({ checks: 1 });
        const group = await groupWith(service, []);
        const { url } = await service.getInvite(group.id, alice);
        const scope = { conversationId: '19:links@thread.v2', tenantId: 'tenant-links' };
        for (let i = 0; i < 5; i++) await service.join({ ref: url, user: { id: `linker-${i}`, name: 'L' }, scope });
        assert.equal((await service.getGroup(group.id)).memberCount, 6);
      });
    });

    describe('removed means removed', () => {
      it('bans a member a group admin removes: no rejoin by link or code, even after a reset; audited', async () => {
        const service = instance();
        const group = await groupWith(service, [bob], 'Night shift');
        const old = await service.getInvite(group.id, alice);
        await service.removeMember(group.id, { user: alice }, bob.id);

        for (const ref of [old.url, old.joinCode]) {
          await assert.rejects(service.join({ ref, user: bob, scope: { tenantId: 'tenant-ban' } }), (err: unknown) => {
            assert.ok(err instanceof RemovedFromGroupError);
            assert.equal(err.userMessage, 'An admin removed you from Night shift. Ask an admin to let you back in.');
            return true;
          });
        }
        const fresh = await service.resetInviteLink(group.id, alice);
        await assert.rejects(service.join({ ref: fresh.url, user: bob }), RemovedFromGroupError);

        const group2 = await service.getGroup(group.id);
        assert.equal(group2.memberCount, 1);
        assert.deepEqual(
          (await service.listMembers(group.id, { user: alice })).items.map((m) => m.user.id),
          [alice.id],
        );
        const exported = [];
        for await (const m of (await service.exportGroup(group.id)).members) exported.push(m.user.id);
        assert.deepEqual(exported, [alice.id], 'the export lists members only');
        assert.ok((await service.listMyGroups(bob.id)).items.every((g) => g.group.id !== group.id));
        const actions = (await auditOf(service, group.id)).map((e) => `${e.action}:${e.subject?.id ?? ''}`);
        assert.ok(actions.includes('removed:bob') && actions.includes('banned:bob'), actions.join(','));
        // A removed person is nobody's member: no leaving, no removing again, no making admin.
        await assert.rejects(service.leave(group.id, bob), ForbiddenError);
        await assert.rejects(service.removeMember(group.id, { user: alice }, bob.id), NotFoundError);
        await assert.rejects(service.makeAdmin(group.id, { user: alice }, bob.id), NotFoundError);
      });

      it('bans a member an organization admin removes', async () => {
        const service = instance();
        const group = await groupWith(service, [bob]);
        await service.mapToOrganization({
          groupId: group.id,
          actor: alice,
          verified: { tenantId: TENANT, objectId: 'oid-alice', organizationName: 'Contoso' },
          idempotencyKey: freshKey(),
        });
        const orgAdmin = { user: { id: 'org-admin', name: 'Olga' }, orgAdminOfTenant: TENANT };
        await service.removeMember(group.id, orgAdmin, bob.id);
        const { url } = await service.getInvite(group.id, alice);
        await assert.rejects(service.join({ ref: url, user: bob }), RemovedFromGroupError);
        assert.deepEqual(
          (await service.listBans(group.id, orgAdmin)).items.map((b) => [b.user.id, b.bannedBy.id]),
          [[bob.id, 'org-admin']],
        );
      });

      it('does not ban someone who leaves on their own', async () => {
        const service = instance();
        const group = await groupWith(service, [bob]);
        await service.leave(group.id, bob);
        const { url } = await service.getInvite(group.id, alice);
        assert.equal((await service.join({ ref: url, user: bob })).alreadyMember, false);
        assert.deepEqual((await service.listBans(group.id, { user: alice })).items, []);
      });

      it('lets an admin allow a removed person back; only admins see and change the removed list', async () => {
        const service = instance();
        const group = await groupWith(service, [bob, carol]);
        await service.removeMember(group.id, { user: alice }, bob.id);
        await assert.rejects(service.listBans(group.id, { user: carol }), ForbiddenError);
        await assert.rejects(service.allowMember(group.id, { user: carol }, bob.id), ForbiddenError);
        await assert.rejects(service.allowMember(group.id, { user: alice }, 'nobody'), NotFoundError);

        const ban = await service.allowMember(group.id, { user: alice }, bob.id);
        assert.deepEqual(ban.user, bob);
        assert.deepEqual((await service.listBans(group.id, { user: alice })).items, []);
        const { url } = await service.getInvite(group.id, alice);
        assert.equal((await service.join({ ref: url, user: bob })).alreadyMember, false);
        assert.equal((await service.getGroup(group.id)).memberCount, 3);
        const actions = (await auditOf(service, group.id)).map((e) => e.action);
        assert.ok(actions.includes('allowed'));
      });

      raceIt('never lets a join that races its removal bring the removed member back', async () => {
        const [one, two] = [instance(), instance()];
        for (let trial = 0; trial < 5; trial++) {
          const group = await groupWith(one, [bob]);
          const { url } = await one.getInvite(group.id, alice);
          await Promise.all([one.removeMember(group.id, { user: alice }, bob.id), outcomeOf(two.join({ ref: url, user: bob }))]);
          assert.equal(
            await two.getGroupAsMember(group.id, bob.id).then(
              () => true,
              () => false,
            ),
            false,
            `trial ${trial}`,
          );
          assert.equal((await one.getGroup(group.id)).memberCount, 1);
        }
      });
    });
  });
