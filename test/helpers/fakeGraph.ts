import { randomBytes } from 'node:crypto';
import { LoopbackServer, type RecordedRequest, type JsonReply } from './loopbackServer';

/**
 * A stand-in for the Entra token endpoint (on-behalf-of) and Microsoft Graph on 127.0.0.1:
 *
 *   POST /{tid}/oauth2/v2.0/token     grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
 *                                     requested_token_use=on_behalf_of, client_id, client_secret, assertion, scope
 *                                     -> { token_type, expires_in, access_token }
 *   GET  /v1.0/organization?$select=displayName   Bearer <OBO token> -> { value: [{ displayName }] }
 *
 * Use `authorityHost = url` and `graphBaseUrl = url + '/v1.0'`.
 */
export interface FakeGraphOptions {
  appId: string;
  appPassword: string;
  /** tenant id -> organization display name */
  organizations: Record<string, string>;
}

export class FakeGraph {
  private readonly server: LoopbackServer;
  private readonly issued = new Map<string, string>(); // access token -> tid
  /** Status to answer OBO requests with instead of a token (e.g. 400 interaction_required). */
  failObo?: number;
  /** Status to answer /organization with. */
  failGraph?: number;

  private constructor(private readonly options: FakeGraphOptions) {
    this.server = new LoopbackServer((req) => this.route(req));
  }

  static async start(options: FakeGraphOptions): Promise<FakeGraph> {
    const fake = new FakeGraph(options);
    await fake.server.start();
    return fake;
  }

  get url(): string {
    return this.server.url;
  }

  get authorityHost(): string {
    return this.server.url;
  }

  get graphBaseUrl(): string {
    return `${this.server.url}/v1.0`;
  }

  get requests(): RecordedRequest[] {
    return this.server.requests;
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  private route(req: RecordedRequest): JsonReply {
    const tokenPath = /^\/([0-9a-f-]{36})\/oauth2\/v2\.0\/token$/i.exec(req.path);
    if (req.method === 'POST' && tokenPath) {
      const tid = tokenPath[1]!.toLowerCase();
      const form = new URLSearchParams(req.body);
      if (this.failObo) return { status: this.failObo, body: { error: 'interaction_required', error_codes: [65001] } };
      if (
        form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' ||
        form.get('requested_token_use') !== 'on_behalf_of' ||
        !form.get('assertion') ||
        !form.get('scope')
      ) {
        return { status: 400, body: { error: 'invalid_request' } };
      }
      if (form.get('client_id') !== this.options.appId || form.get('client_secret') !== this.options.appPassword) {
        return { status: 401, body: { error: 'invalid_client' } };
      }
      const accessToken = randomBytes(24).toString('base64url');
      this.issued.set(accessToken, tid);
      return { status: 200, body: { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: accessToken } };
    }
    if (req.method === 'GET' && req.path === '/v1.0/organization') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const tid = bearer ? this.issued.get(bearer) : undefined;
      if (!tid) return { status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } };
      if (this.failGraph) return { status: this.failGraph, body: { error: { code: 'ServiceUnavailable' } } };
      const displayName = this.options.organizations[tid];
      return { status: 200, body: { value: displayName === undefined ? [] : [{ displayName }] } };
    }
    return { status: 404, body: { error: 'not_found' } };
  }
}
