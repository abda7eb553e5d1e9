import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { personRefOf, type PersonRef } from '../../src/bulkadd/addressList';
import { GraphDirectory } from '../../src/bulkadd/graphDirectory';
import { refKey } from '../../src/bulkadd/ports';
import { FakeGraphDirectory, type DirectoryPerson } from '../helpers/fakeGraphDirectory';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = '99999999-8888-7777-6666-555555555555';
const SECRET = 'not-a-real-secret';

const ref = (text: string) => personRefOf(text) as PersonRef;

/** Bulk add's directory against stand-ins of Entra ID (HTTPS, real MSAL client credentials) and Graph's $batch. */
describe('bulk add: the Graph directory', function () {
  this.timeout(30_000);
  let fake: FakeGraphDirectory;
  const people: DirectoryPerson[] = Array.from({ length: 45 }, (_, i) => ({
    id: randomUUID(),
    displayName: `Person ${i}`,
    userPrincipalName: `person${i}@contoso.example`,
    ...(i === 3 ? { mobilePhone: '+14255550103' } : {}),
    ...(i === 4 ? { userType: 'Guest' as const } : {}),
  }));
  people.push({ id: randomUUID(), displayName: 'Twin A', userPrincipalName: 'twina@contoso.example', mobilePhone: '+15550000' });
  people.push({ id: randomUUID(), displayName: 'Twin B', userPrincipalName: 'twinb@contoso.example', mobilePhone: '+15550000' });

  before(async () => {
    fake = await FakeGraphDirectory.start({ appId: APP_ID, secret: SECRET, people });
  });
  after(async () => {
    await fake?.close();
  });

  const directory = (sleeps: number[] = []) =>
    new GraphDirectory({
      client: fake.client(TENANT),
      tenantId: TENANT,
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    });

  it('finds people by address, object id and mobile number, 20 to a batch, with one token for all', async () => {
    const refs = [
      ...people.slice(0, 40).map((p) => ref(p.userPrincipalName.toUpperCase())),
      ref(people[41]!.id),
      ref('+1 425 555 0103'),
      ref('nobody@contoso.example'),
    ];
    const before = fake.subRequests;
    const answers = await directory().lookup(refs);
    assert.equal(fake.subRequests - before, refs.length, 'one Graph request per person');
    assert.equal(fake.tokenRequests.length, 1);
    const found = (text: string) => {
      const answer = answers.get(refKey(ref(text)));
      return answer && 'found' in answer ? answer.found : undefined;
    };
    assert.equal(found('person7@contoso.example')?.displayName, 'Person 7');
    assert.equal(found(people[41]!.id)?.userPrincipalName, 'person41@contoso.example');
    assert.equal(found('+14255550103')?.displayName, 'Person 3');
    assert.equal(found('person4@contoso.example')?.guest, true);
    assert.equal(found('person7@contoso.example')?.tenantId, TENANT);
    assert.deepEqual(answers.get(refKey(ref('nobody@contoso.example'))), { missing: 'unknown' });
  });

  it('calls a number two people share ambiguous', async () => {
    const answers = await directory().lookup([ref('+15550000')]);
    assert.deepEqual(answers.get(refKey(ref('+15550000'))), { missing: 'ambiguous' });
  });

  it('waits for Retry-After and asks again only what was throttled', async () => {
    fake.throttleNext = 3;
    const sleeps: number[] = [];
    const before = fake.subRequests;
    const answers = await directory(sleeps).lookup(people.slice(0, 10).map((p) => ref(p.userPrincipalName)));
    assert.equal(fake.subRequests - before, 13, 'ten lookups and the three throttled ones again');
    assert.deepEqual(sleeps, [50]);
    assert.ok([...answers.values()].every((a) => 'found' in a));
  });

  it('says Graph is unavailable when the app secret is wrong, with no secret in the message', async () => {
    const wrong = new GraphDirectory({
      client: fake.client(TENANT, 'wrong-secret'),
      tenantId: TENANT,
    });
    await assert.rejects(wrong.lookup([ref('person1@contoso.example')]), (err: Error) => {
      assert.equal(err.name, 'GraphUnavailableError');
      assert.doesNotMatch(err.message, /wrong-secret/);
      return true;
    });
  });
});
