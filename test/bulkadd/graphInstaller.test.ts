import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { GraphInstaller } from '../../src/bulkadd/graphInstaller';
import { FakeGraphDirectory, type DirectoryPerson } from '../helpers/fakeGraphDirectory';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = '99999999-8888-7777-6666-555555555555';
const MANIFEST_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const SECRET = 'not-a-real-secret';

/** Installing the app for people who never opened the bot, against the Entra and Graph stand-ins. */
describe('bulk add: installing the app through Graph and finding each personal chat', function () {
  this.timeout(30_000);
  let fake: FakeGraphDirectory;
  const people: DirectoryPerson[] = Array.from({ length: 30 }, (_, i) => ({
    id: randomUUID(),
    displayName: `Person ${i}`,
    userPrincipalName: `person${i}@contoso.example`,
  }));

  before(async () => {
    fake = await FakeGraphDirectory.start({ appId: APP_ID, secret: SECRET, people });
  });
  after(async () => {
    await fake?.close();
  });

  const installer = (manifestAppId = MANIFEST_ID) =>
    new GraphInstaller({
      client: fake.client(TENANT),
      manifestAppId,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });

  it('installs for each person (201, or 409 when installed already), and finds each chat; every failure has a reason', async () => {
    fake.catalog.set(MANIFEST_ID, 'catalog-app-1');
    const [blocked, noTeams, already] = [people[0]!.id, people[1]!.id, people[2]!.id];
    fake.blocked.add(blocked);
    fake.withoutTeams.add(noTeams);
    fake.installations.set(already, `inst-${already}`);
    const unknown = randomUUID();
    fake.throttleNext = 2;
    const ids = [...people.map((p) => p.id), unknown];
    const reach = await installer().reach(ids);
    for (const person of people.slice(3)) assert.deepEqual(reach.get(person.id), { chatId: `19:${person.id}_bot@unq.gbl.spaces` });
    assert.deepEqual(reach.get(already), { chatId: `19:${already}_bot@unq.gbl.spaces` }, 'installed before: 409, then its chat');
    assert.equal(fake.installsMade.get(already), undefined);
    assert.match((reach.get(blocked) as { detail: string }).detail, /app permission policy.*403/);
    assert.equal((reach.get(noTeams) as { failed: string }).failed, 'no_teams');
    assert.equal((reach.get(unknown) as { failed: string }).failed, 'user_not_found');
  });

  it('installs nobody twice when the same people are reached again (a rerun after a crash)', async () => {
    const ids = people.slice(3, 10).map((p) => p.id);
    const reach = await installer().reach(ids);
    assert.ok(ids.every((id) => 'chatId' in reach.get(id)!));
    assert.ok(ids.every((id) => fake.installsMade.get(id) === 1));
  });

  it('says the app is not in the catalog when the organization has not uploaded it', async () => {
    const reach = await installer('not-uploaded-app').reach([people[5]!.id]);
    assert.equal((reach.get(people[5]!.id) as { failed: string }).failed, 'app_not_in_catalog');
  });
});
