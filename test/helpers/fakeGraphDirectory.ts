import { randomBytes } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { generate } from 'selfsigned';
import { GraphClient } from '../../src/bulkadd/graphClient';
import { LoopbackServer, type JsonReply, type RecordedRequest } from './loopbackServer';

/**
 * TEST ONLY. Stand-ins for what bulk add talks to, speaking their protocols on 127.0.0.1:
 * - Entra ID's token endpoint for the client-credentials grant, over HTTPS (MSAL refuses an http authority):
 *   `GET /{tenant}/v2.0/.well-known/openid-configuration`, `POST /{tenant}/oauth2/v2.0/token`. Give the
 *   credential `authorityHost: entraUrl`, `disableInstanceDiscovery: true` and `tlsOptions: { ca }`.
 * - Microsoft Graph's users and JSON batching over HTTP: `POST /v1.0/$batch` with `GET /users/{id or upn}` and
 *   `GET /users?$filter=mobilePhone eq '...'` inside; `throttleNext` answers that many sub-requests 429.
 */
export interface DirectoryPerson {
  id: string;
  displayName: string;
  userPrincipalName: string;
  mobilePhone?: string;
  userType?: 'Member' | 'Guest';
}

export class FakeGraphDirectory {
  private readonly entra: LoopbackServer;
  private readonly graph: LoopbackServer;
  private readonly tokens = new Set<string>();
  /** Sub-requests still to answer 429 (with Retry-After: 0.05 s). */
  throttleNext = 0;
  /** Sub-requests answered (each counts as one Graph request against the budget). */
  subRequests = 0;
  /** HTTP requests to Graph ($batch and direct calls). */
  httpRequests = 0;
  /** The app in the organization's catalog: manifest (external) id -> catalog id. */
  readonly catalog = new Map<string, string>();
  /** Users the app permission policy blocks (403 on install). */
  readonly blocked = new Set<string>();
  /** Users without Teams: the install is accepted but no installation shows (a license missing). */
  readonly withoutTeams = new Set<string>();
  /** user id -> installation id, for installs made (or present before). */
  readonly installations = new Map<string, string>();
  /** Graph's install limit (POST installedApps per second for the tenant); beyond it, 429 with Retry-After. */
  installLimitPerSecond = Infinity;
  /** Sub-requests answered 429 (throttleNext and the install limit). */
  throttled = 0;
  private installTokens = 0;
  private installTokensAt = 0;
  /** Installs answered 201 per user (an install made twice would show here). */
  readonly installsMade = new Map<string, number>();

  private constructor(
    readonly ca: string,
    tls: { key: string; cert: string },
    private readonly appId: string,
    private readonly secret: string,
    private readonly people: DirectoryPerson[],
  ) {
    this.entra = new LoopbackServer((req) => this.routeEntra(req), tls);
    this.graph = new LoopbackServer((req) => this.routeGraph(req));
  }

  static async start(options: { appId: string; secret: string; people: DirectoryPerson[] }): Promise<FakeGraphDirectory> {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const fake = new FakeGraphDirectory(pems.cert, { key: pems.private, cert: pems.cert }, options.appId, options.secret, options.people);
    await Promise.all([fake.entra.start(), fake.graph.start()]);
    return fake;
  }

  get entraUrl(): string {
    return this.entra.url;
  }

  get graphBaseUrl(): string {
    return `${this.graph.url}/v1.0`;
  }

  /** The app's real credential (MSAL's client credentials), pointed at this stand-in and trusting its certificate. */
  credential(tenantId: string, secret = this.secret): ClientSecretCredential {
    return new ClientSecretCredential(tenantId, this.appId, secret, {
      authorityHost: this.entraUrl,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: this.ca },
    });
  }

  /** A Graph client for this stand-in with the app's credential. */
  client(tenantId: string, secret?: string): GraphClient {
    return new GraphClient({ baseUrl: this.graphBaseUrl, credential: this.credential(tenantId, secret) });
  }

  get tokenRequests(): RecordedRequest[] {
    return this.entra.requests.filter((r) => r.method === 'POST');
  }

  async close(): Promise<void> {
    await Promise.all([this.entra.close(), this.graph.close()]);
  }

  private routeEntra(req: RecordedRequest): JsonReply {
    const base = this.entra.url;
    const config = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(req.path);
    if (req.method === 'GET' && config) {
      const tenant = config[1]!;
      return {
        status: 200,
        body: {
          issuer: `${base}/${tenant}/v2.0`,
          authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
          end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
          response_types_supported: ['code', 'token'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['RS256'],
        },
      };
    }
    if (req.method === 'POST' && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(req.path)) {
      const form = new URLSearchParams(req.body);
      if (form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'https://graph.microsoft.com/.default') {
        return { status: 400, body: { error: 'invalid_request' } };
      }
      if (form.get('client_id') !== this.appId || form.get('client_secret') !== this.secret) {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      const token = randomBytes(24).toString('base64url');
      this.tokens.add(token);
      return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
    }
    return { status: 404, body: { error: 'not_found' } };
  }

  private routeGraph(req: RecordedRequest): JsonReply {
    this.httpRequests++;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !this.tokens.has(bearer)) return { status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } };
    if (req.method === 'GET' && req.path === '/v1.0/appCatalogs/teamsApps') {
      const external = /^externalId eq '(.*)'$/.exec(req.query.get('$filter') ?? '')?.[1];
      const id = external ? this.catalog.get(external) : undefined;
      return { status: 200, body: { value: id ? [{ id, externalId: external, displayName: 'Kaizala Groups' }] : [] } };
    }
    if (req.method !== 'POST' || req.path !== '/v1.0/$batch') return { status: 404, body: { error: { code: 'NotFound' } } };
    const { requests } = JSON.parse(req.body) as { requests: Array<{ id: string; method: string; url: string; body?: unknown }> };
    if (requests.length > 20) return { status: 400, body: { error: { code: 'BadRequest', message: 'more than 20 requests' } } };
    return { status: 200, body: { responses: requests.map((r) => ({ id: r.id, ...this.answer(r.url, r.method, r.body) })) } };
  }

  private answer(url: string, method: string, body: unknown): { status: number; headers?: Record<string, string>; body?: unknown } {
    this.subRequests++;
    if (this.throttleNext > 0) {
      this.throttleNext--;
      this.throttled++;
      return { status: 429, headers: { 'Retry-After': '0.05' }, body: { error: { code: 'TooManyRequests' } } };
    }
    if (method === 'POST' && this.installLimitPerSecond !== Infinity && !this.installToken()) {
      this.throttled++;
      return { status: 429, headers: { 'Retry-After': '1' }, body: { error: { code: 'TooManyRequests' } } };
    }
    const parsed = new URL(url, 'http://graph.invalid');
    const apps = /^\/users\/([^/]+)\/teamwork\/installedApps(?:\/([^/]+)\/chat)?$/.exec(parsed.pathname);
    if (apps) return this.installedApps(decodeURIComponent(apps[1]!), apps[2] ? decodeURIComponent(apps[2]) : undefined, method, body);
    const view = (p: DirectoryPerson) => ({
      id: p.id,
      displayName: p.displayName,
      userPrincipalName: p.userPrincipalName,
      userType: p.userType ?? 'Member',
    });
    if (parsed.pathname === '/users') {
      const phone = /^mobilePhone eq '(.*)'$/.exec(parsed.searchParams.get('$filter') ?? '')?.[1]?.replace(/''/g, "'");
      if (phone === undefined) return { status: 400, body: { error: { code: 'BadRequest' } } };
      return { status: 200, body: { value: this.people.filter((p) => p.mobilePhone === phone).map(view) } };
    }
    const key = decodeURIComponent(parsed.pathname.replace(/^\/users\//, '')).toLowerCase();
    const person = this.people.find((p) => p.id.toLowerCase() === key || p.userPrincipalName.toLowerCase() === key);
    if (!person) {
      return { status: 404, body: { error: { code: 'Request_ResourceNotFound', message: `Resource '${key}' does not exist.` } } };
    }
    return { status: 200, body: view(person) };
  }

  /** A token bucket at the install limit, a tenth of a second's burst. */
  private installToken(): boolean {
    const now = Date.now();
    const capacity = Math.max(1, this.installLimitPerSecond / 10);
    this.installTokens = Math.min(capacity, this.installTokens + ((now - this.installTokensAt) * this.installLimitPerSecond) / 1000);
    if (this.installTokensAt === 0) this.installTokens = capacity;
    this.installTokensAt = now;
    if (this.installTokens < 1) return false;
    this.installTokens -= 1;
    return true;
  }

  private installedApps(userId: string, installationId: string | undefined, method: string, body: unknown) {
    const person = this.people.find((p) => p.id === userId);
    if (!person)
      return { status: 404, body: { error: { code: 'Request_ResourceNotFound', message: `Resource '${userId}' does not exist.` } } };
    if (method === 'POST') {
      const bind = String((body as Record<string, unknown> | undefined)?.['teamsApp@odata.bind'] ?? '');
      if (![...this.catalog.values()].some((id) => bind.endsWith(`/appCatalogs/teamsApps/${id}`)))
        return { status: 404, body: { error: { code: 'NotFound' } } };
      if (this.blocked.has(userId)) {
        return {
          status: 403,
          body: { error: { code: 'Forbidden', message: 'App is blocked by app permission policy', innerError: { code: 'AccessDenied' } } },
        };
      }
      if (this.installations.has(userId)) return { status: 409, body: { error: { code: 'Conflict' } } };
      this.installsMade.set(userId, (this.installsMade.get(userId) ?? 0) + 1);
      if (!this.withoutTeams.has(userId)) this.installations.set(userId, `inst-${userId}`);
      return { status: 201 };
    }
    if (installationId === undefined) {
      const installation = this.installations.get(userId);
      return { status: 200, body: { value: installation ? [{ id: installation }] : [] } };
    }
    if (this.installations.get(userId) !== installationId) return { status: 404, body: { error: { code: 'NotFound' } } };
    return { status: 200, body: { id: `19:${userId}_bot@unq.gbl.spaces` } };
  }
}
