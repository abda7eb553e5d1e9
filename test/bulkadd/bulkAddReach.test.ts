import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { sampleChannelUserId, SampleDirectory } from '../../src/bulkadd/sampleDirectory';
import { ConnectorReacher } from '../../src/bulkadd/connectorReacher';
import { GraphInstaller } from '../../src/bulkadd/graphInstaller';
import { bulkAddReach } from '../../src/wiring/bulkAdd';
import { FakeGraphDirectory, type DirectoryPerson } from '../helpers/fakeGraphDirectory';

const TENANT = '11111111-2222-3333-4444-555555555555';
const APP_ID = '99999999-8888-7777-6666-555555555555';
const SECRET = 'not-a-real-secret';

/**
 * How the app wires bulk add's directory and reach (src/wiring/bulkAdd.ts): Graph, with tokens from
 * ENTRA_AUTHORITY_HOST through @azure/identity, when the app id and password are set; the sample directory and
 * chats created on the channel without them.
 */
describe('bulk add wiring: directory and reach per configuration', function () {
  this.timeout(30_000);
  let fake: FakeGraphDirectory;
  const people: DirectoryPerson[] = [
    { id: randomUUID(), displayName: 'Ann Lee', userPrincipalName: 'ann@contoso.example' },
    { id: randomUUID(), displayName: 'Bob Ray', userPrincipalName: 'bob@contoso.example' },
  ];

  before(async () => {
    fake = await FakeGraphDirectory.start({ appId: APP_ID, secret: SECRET, people });
    fake.catalog.set(APP_ID, 'catalog-app');
  });
  after(async () => {
    await fake?.close();
  });

  it('with an app id and password: looks people up in Graph and installs the app for them, tokens from the configured authority', async () => {
    const config = loadConfig({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: SECRET,
      MicrosoftAppTenantId: TENANT,
      GRAPH_BASE_URL: fake.graphBaseUrl,
      ENTRA_AUTHORITY_HOST: fake.entraUrl,
      STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
      NODE_ENV: 'test',
    });
    const { directoryFor, reacherFor } = bulkAddReach(config, { graphTlsCa: fake.ca });
    const answers = await directoryFor(TENANT).lookup([{ kind: 'upn', value: 'ann@contoso.example' }]);
    assert.equal((answers.get('upn:ann@contoso.example') as { found: { id: string } }).found.id, people[0]!.id);
    const reacher = reacherFor(TENANT, 'https://smba.trafficmanager.net/emea/');
    assert.ok(reacher instanceof GraphInstaller);
    const before = fake.subRequests;
    const reach = await reacher.reach(people.map((p) => p.id));
    // The install is the one Graph call a person: the chat is opened by the channel at the welcome.
    for (const p of people) assert.deepEqual(reach.get(p.id), { chatId: '' });
    for (const p of people) assert.equal(fake.installsMade.get(p.id), 1);
    assert.equal(fake.subRequests - before, people.length);
    assert.ok(fake.tokenRequests.length >= 1, 'a token from the stand-in authority');
  });

  it('without an app id: the sample directory, and chats created on the channel', () => {
    const config = loadConfig({ STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', NODE_ENV: 'test' });
    const { directoryFor, reacherFor } = bulkAddReach(config, {});
    assert.ok(directoryFor(TENANT) instanceof SampleDirectory);
    assert.ok(reacherFor(TENANT, 'http://127.0.0.1:56000/') instanceof ConnectorReacher);
  });

  it("asks the Agents Playground's connector for its mock users by their playground ids, and Teams by object id", () => {
    const megan = '00000000-0000-0000-0000-0000000000021';
    const miriam = '00000000-0000-0000-0000-0000000000033';
    assert.equal(sampleChannelUserId(megan, 'http://localhost:56150/_connector'), 'user-id-1');
    assert.equal(sampleChannelUserId(megan, 'http://localhost:56150/_connector/'), 'user-id-1');
    assert.equal(sampleChannelUserId(miriam, 'http://localhost:56150/_connector'), miriam, 'not one of its six');
    assert.equal(sampleChannelUserId(megan, 'https://smba.trafficmanager.net/teams/'), megan);
    assert.equal(sampleChannelUserId(megan, 'not a url'), megan);
  });
});
