import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import type { VerifiedUser } from './entraTokenVerifier';

/**
 * The organization's display name for the confirmation card of "Add to organization". Display only: the group's
 * owner is the verified tenant id, never this name.
 */
export interface OrganizationDirectory {
  organizationName(user: VerifiedUser, ssoToken: string): Promise<string>;
}

export interface GraphOrganizationDirectoryOptions {
  appId: string;
  appPassword: string;
  /** e.g. https://login.microsoftonline.com (ENTRA_AUTHORITY_HOST) */
  authorityHost: string;
  /** e.g. https://graph.microsoft.com/v1.0 (GRAPH_BASE_URL) */
  graphBaseUrl: string;
  /**
   * Delegated scope for the on-behalf-of token. Default `<graph origin>/User.Read`, the least privilege that can
   * read /organization (Organization.Read.All works too but needs admin consent).
   */
  scope?: string;
  fetch?: typeof fetch;
  /** How long a tenant's name is kept. Default 1 h. */
  cacheTtlMs?: number;
  /** Most tenants kept. Default 10,000. */
  cacheMaxEntries?: number;
  timeoutMs?: number;
}

/** Thrown when Graph cannot give the name; carries the HTTP status or step, never a token or a response body. */
export class OrganizationLookupError extends Error {
  constructor(
    readonly step: 'obo' | 'graph',
    readonly status?: number,
  ) {
    super(`organization lookup failed at ${step}${status !== undefined ? ` (HTTP ${status})` : ''}`);
    this.name = 'OrganizationLookupError';
  }
}

/**
 * Graph: on-behalf-of exchange of the user's SSO token for a Graph token, then GET /organization?$select=displayName.
 * Cached per tenant; concurrent lookups for one tenant share one request.
 */
export class GraphOrganizationDirectory implements OrganizationDirectory {
  private readonly fetchImpl: typeof fetch;
  private readonly cache = new Map<string, { name: string; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly ttl: number;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly scope: string;

  constructor(private readonly options: GraphOrganizationDirectoryOptions) {
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.ttl = options.cacheTtlMs ?? 60 * 60 * 1000;
    this.maxEntries = options.cacheMaxEntries ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.scope = options.scope ?? `${new URL(options.graphBaseUrl).origin}/User.Read`;
  }

  async organizationName(user: VerifiedUser, ssoToken: string): Promise<string> {
    const tid = user.tenantId;
    const hit = this.cache.get(tid);
    if (hit && hit.expiresAt > Date.now()) return hit.name;
    const pending = this.inFlight.get(tid);
    if (pending) return pending;
    const lookup = this.lookup(tid, ssoToken).then((name) => {
      this.remember(tid, name);
      return name;
    });
    this.inFlight.set(tid, lookup);
    try {
      return await lookup;
    } finally {
      this.inFlight.delete(tid);
    }
  }

  private remember(tid: string, name: string): void {
    this.cache.delete(tid);
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(tid, { name, expiresAt: Date.now() + this.ttl });
  }

  private async lookup(tid: string, ssoToken: string): Promise<string> {
    const authority = this.options.authorityHost.replace(/\/+$/, '');
    let tokenRes: Response;
    try {
      tokenRes = await this.fetchImpl(`${authority}/${encodeURIComponent(tid)}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          client_id: this.options.appId,
          client_secret: this.options.appPassword,
          assertion: ssoToken,
          scope: this.scope,
          requested_token_use: 'on_behalf_of',
        }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new OrganizationLookupError('obo');
    }
    if (!tokenRes.ok) {
      await tokenRes.body?.cancel();
      throw new OrganizationLookupError('obo', tokenRes.status);
    }
    const tokenBody = (await tokenRes.json().catch(() => ({}))) as { access_token?: unknown };
    if (typeof tokenBody.access_token !== 'string') throw new OrganizationLookupError('obo', tokenRes.status);

    let orgRes: Response;
    try {
      orgRes = await this.fetchImpl(`${this.options.graphBaseUrl.replace(/\/+$/, '')}/organization?$select=displayName`, {
        headers: { authorization: `Bearer ${tokenBody.access_token}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new OrganizationLookupError('graph');
    }
    if (!orgRes.ok) {
      await orgRes.body?.cancel();
      throw new OrganizationLookupError('graph', orgRes.status);
    }
    const orgBody = (await orgRes.json().catch(() => ({}))) as { value?: Array<{ displayName?: unknown }> };
    const name = orgBody.value?.[0]?.displayName;
    if (typeof name !== 'string' || name.trim() === '') throw new OrganizationLookupError('graph', orgRes.status);
    return name.trim();
  }
}

/**
 * The domain of the user's sign-in name (the part after @ of preferred_username / upn), which Entra only issues
 * for domains verified in the tenant (or the tenant's onmicrosoft.com domain); undefined when the token carries
 * no such name.
 */
export function signInDomain(user: Pick<VerifiedUser, 'preferredUsername'>): string | undefined {
  const at = user.preferredUsername?.lastIndexOf('@') ?? -1;
  const domain =
    at >= 0
      ? user
          .preferredUsername!.slice(at + 1)
          .trim()
          .toLowerCase()
      : '';
  return /^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain) ? domain : undefined;
}

/** Without Graph: the sign-in's verified domain, or the tenant id when the token carries no such name. */
export class DomainOrganizationDirectory implements OrganizationDirectory {
  async organizationName(user: VerifiedUser): Promise<string> {
    return signInDomain(user) ?? user.tenantId;
  }
}

/** Tries the primary (Graph); on any failure logs a warning and answers from the fallback (domain). */
export class FallbackOrganizationDirectory implements OrganizationDirectory {
  constructor(
    private readonly primary: OrganizationDirectory,
    private readonly fallback: OrganizationDirectory,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  async organizationName(user: VerifiedUser, ssoToken: string): Promise<string> {
    try {
      return await this.primary.organizationName(user, ssoToken);
    } catch (err) {
      this.logger?.warn(
        { tenantId: user.tenantId, reason: err instanceof Error ? err.message : 'unknown' },
        'organization name from Graph unavailable; using the sign-in domain',
      );
      return this.fallback.organizationName(user, ssoToken);
    }
  }
}

/** Graph with the domain fallback when the bot has an app password; the domain alone otherwise (MSI, local runs). */
export function createOrganizationDirectory(
  config: Pick<AppConfig, 'MicrosoftAppId' | 'MicrosoftAppPassword' | 'ENTRA_AUTHORITY_HOST' | 'GRAPH_BASE_URL'>,
  logger?: Pick<Logger, 'warn'>,
  fetchImpl?: typeof fetch,
): OrganizationDirectory {
  const domain = new DomainOrganizationDirectory();
  if (!config.MicrosoftAppId || !config.MicrosoftAppPassword) return domain;
  const graph = new GraphOrganizationDirectory({
    appId: config.MicrosoftAppId,
    appPassword: config.MicrosoftAppPassword,
    authorityHost: config.ENTRA_AUTHORITY_HOST,
    graphBaseUrl: config.GRAPH_BASE_URL,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  return new FallbackOrganizationDirectory(graph, domain, logger);
}
