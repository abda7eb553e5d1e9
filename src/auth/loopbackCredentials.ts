import { AppCredentials, AuthenticationConstants, ServiceClientCredentialsFactory } from 'botframework-connector';
import type { AuthenticatorResult } from 'botframework-connector';
import { isLoopbackHost } from '../config';

/* Outbound credentials for a loopback token service (test doubles and the local playground only). */

export function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(stripBrackets(url.hostname));
  } catch {
    return false;
  }
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * MSAL (which the SDK uses for the bot's outbound token) refuses non-https authorities and calls Microsoft's
 * instance discovery, so a loopback token service (a test double, a local playground) is reached with a plain
 * OAuth 2.0 client-credentials POST to `<ToChannelFromBotLoginUrl>/oauth2/v2.0/token`, the request MSAL sends.
 * Used only when ToChannelFromBotLoginUrl is a loopback URL.
 */
export class LoopbackClientCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor(
    private readonly appId: string,
    private readonly password: string,
    private readonly loginUrl: string,
    private readonly fetchImpl: typeof fetch,
  ) {
    super();
  }

  override async isValidAppId(appId: string): Promise<boolean> {
    return appId === this.appId;
  }

  override async isAuthenticationDisabled(): Promise<boolean> {
    return this.appId === '';
  }

  override async createCredentials(appId: string, audience: string | undefined): Promise<AppCredentials> {
    if (!(await this.isValidAppId(appId))) throw new Error('Invalid appId.');
    return new LoopbackClientCredentials(appId, this.password, this.loginUrl, audience, this.fetchImpl);
  }
}

class LoopbackClientCredentials extends AppCredentials {
  constructor(
    appId: string,
    private readonly password: string,
    private readonly loginUrl: string,
    audience: string | undefined,
    private readonly fetchImpl: typeof fetch,
  ) {
    super(appId, undefined, audience);
  }

  // JSON.stringify uses AppCredentials.toJSON, which leaves the password out.

  protected override async refreshToken(): Promise<AuthenticatorResult> {
    const scope = this.oAuthScope.endsWith('/.default') ? this.oAuthScope : `${this.oAuthScope}/.default`;
    const res = await this.fetchImpl(`${this.loginUrl.replace(/\/+$/, '')}${AuthenticationConstants.ToChannelFromBotTokenEndpointPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.appId,
        client_secret: this.password,
        scope,
      }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Token service answered ${res.status}`);
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('Token service returned no access_token');
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    return { accessToken: body.access_token, expiresOn: new Date(Date.now() + expiresIn * 1000) };
  }
}
