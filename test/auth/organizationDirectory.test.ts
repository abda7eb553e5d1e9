import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { VerifiedUser } from '../../src/auth/entraTokenVerifier';
import {
  DomainOrganizationDirectory,
  FallbackOrganizationDirectory,
  GraphOrganizationDirectory,
  OrganizationLookupError,
  createOrganizationDirectory,
} from '../../src/auth/organizationDirectory';
import { FakeGraph } from '../helpers/fakeGraph';

const APP_ID = '00000000-0000-4000-8000-0000000d14ec';
const APP_PASSWORD = 'test-password-not-a-secret';
const SSO_TOKEN = 'sso-token-stand-in';

function user(tenantId: string, preferredUsername?: string): VerifiedUser {
  return { tenantId, objectId: randomUUID(), roles: [], scopes: ['access_as_user'], ...(preferredUsername ? { preferredUsername } : {}) };
}

describe('organization directory (the name on the "added to your organization" card)', () => {
  const contoso = randomUUID();
  const fabrikam = randomUUID();
  let graph: FakeGraph;

  before(async () => {
    graph = await FakeGraph.start({
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      organizations: { [contoso]: 'Contoso Ltd', [fabrikam]: 'Fabrikam' },
    });
  });
  after(async () => {
    await graph.close();
  });
  beforeEach(() => {
    graph.failObo = undefined;
    graph.failGraph = undefined;
  });

  function graphDirectory(): GraphOrganizationDirectory {
    return new GraphOrganizationDirectory({
      appId: APP_ID,
      appPassword: APP_PASSWORD,
      authorityHost: graph.authorityHost,
      graphBaseUrl: graph.graphBaseUrl,
    });
  }

  it('reads the display name through on-behalf-of and Graph /organization', async () => {
    const before = graph.requests.length;
    assert.equal(await graphDirectory().organizationName(user(contoso), SSO_TOKEN), 'Contoso Ltd');
    const [obo, org] = graph.requests.slice(before);
    assert.equal(obo?.path, `/${contoso}/oauth2/v2.0/token`);
    const form = new URLSearchParams(obo!.body);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    assert.equal(form.get('requested_token_use'), 'on_behalf_of');
    assert.equal(form.get('assertion'), SSO_TOKEN);
    assert.equal(form.get('scope'), `${graph.url}/User.Read`);
    assert.equal(org?.path, '/v1.0/organization');
    assert.equal(org?.query.get('$select'), 'displayName');
  });

  it('caches per tenant and shares one lookup between concurrent callers', async () => {
    const directory = graphDirectory();
    const before = graph.requests.length;
    const names = await Promise.all([1, 2, 3].map(() => directory.organizationName(user(fabrikam), SSO_TOKEN)));
    assert.deepEqual(names, ['Fabrikam', 'Fabrikam', 'Fabrikam']);
    assert.equal(await directory.organizationName(user(fabrikam), SSO_TOKEN), 'Fabrikam');
    assert.equal(graph.requests.length - before, 2, 'one OBO and one Graph call');
  });

  it('reports a refused OBO (consent missing) as an OrganizationLookupError without the token', async () => {
    graph.failObo = 400;
    await assert.rejects(graphDirectory().organizationName(user(contoso), SSO_TOKEN), (err: unknown) => {
      assert.ok(err instanceof OrganizationLookupError);
      assert.equal(err.step, 'obo');
      assert.equal(err.status, 400);
      assert.doesNotMatch(err.message, new RegExp(SSO_TOKEN));
      return true;
    });
  });

  it('falls back to the sign-in domain when Graph fails, and logs a warning', async () => {
    graph.failGraph = 503;
    const warnings: unknown[] = [];
    const directory = new FallbackOrganizationDirectory(graphDirectory(), new DomainOrganizationDirectory(), {
      warn: (obj: unknown) => {
        warnings.push(obj);
      },
    });
    assert.equal(await directory.organizationName(user(contoso, 'ada@Contoso.Example'), SSO_TOKEN), 'contoso.example');
    assert.equal(warnings.length, 1);
    assert.doesNotMatch(JSON.stringify(warnings), new RegExp(SSO_TOKEN));
  });

  it('uses the domain alone when no app password is configured (no Graph call)', async () => {
    const before = graph.requests.length;
    const directory = createOrganizationDirectory({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: undefined,
      ENTRA_AUTHORITY_HOST: graph.authorityHost,
      GRAPH_BASE_URL: graph.graphBaseUrl,
    });
    assert.equal(await directory.organizationName(user(contoso, 'bo@fabrikam.example'), SSO_TOKEN), 'fabrikam.example');
    assert.equal(graph.requests.length, before);
  });

  it('names the tenant id when the token carries no sign-in name', async () => {
    assert.equal(await new DomainOrganizationDirectory().organizationName(user(contoso)), contoso);
  });

  it('with an app password, createOrganizationDirectory asks Graph first', async () => {
    const directory = createOrganizationDirectory({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      ENTRA_AUTHORITY_HOST: graph.authorityHost,
      GRAPH_BASE_URL: graph.graphBaseUrl,
    });
    assert.equal(await directory.organizationName(user(contoso, 'ada@contoso.example'), SSO_TOKEN), 'Contoso Ltd');
  });
});
