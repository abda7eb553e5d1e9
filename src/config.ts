import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

/**
 * The one reader of process.env. Everything the program can be told from outside is here, parsed once into a
 * frozen, typed object. A bad value stops start-up with one clear line naming the key (see ConfigError).
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const optionalString = z.preprocess(emptyToUndefined, z.string().trim().optional());

const optionalUrl = z.preprocess(
  emptyToUndefined,
  z.string().trim().url({ message: 'must be an absolute URL such as https://example.com' }).optional(),
);

const commaList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0)
      : (v ?? []),
  z.array(z.string()),
);

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Bot Framework connector's hosts (public cloud): where replies go, and where the bot's token may be sent. */
export const BOT_FRAMEWORK_HOSTS: readonly string[] = ['smba.trafficmanager.net', '*.smba.trafficmanager.net', '*.botframework.com'];

const schema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(3978)),
  HOST: z.preprocess(emptyToUndefined, z.string().trim().default('127.0.0.1')),
  PUBLIC_URL: optionalUrl,
  STORAGE_CONNECTION_STRING: optionalString,
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().trim().default('.data')),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(LOG_LEVELS).default('info')),
  /** Bound of every storage call, the SDK's retries included; past it a turn answers "try again in a moment". */
  STORAGE_TIMEOUT_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(100).max(120_000).default(3_000)),
  /** How long a delivery holds an activity; a redelivery after that (and no "done") runs the turn again. */
  REDELIVERY_LEASE_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(100).max(3_600_000).default(60_000)),

  // Bot Framework identity, with the SDK's own key names so that its documentation applies as written.
  MicrosoftAppId: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(guid, { message: 'must be the bot app registration id (a GUID)' }).optional(),
  ),
  MicrosoftAppPassword: optionalString,
  /** The Teams app id (the manifest's `id`, a GUID); used only when packaging the app (scripts/package-app.ts). */
  TEAMS_APP_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(guid, { message: 'must be the Teams app id (a GUID)' }).optional()),
  MicrosoftAppType: z.preprocess(emptyToUndefined, z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant')),
  MicrosoftAppTenantId: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(guid, { message: 'must be a tenant id (a GUID)' }).optional(),
  ),
  // Overrides of the Bot Framework endpoints (sovereign clouds; local test doubles). When one is set, all the
  // ones the SDK needs are filled from the public cloud defaults (see src/auth/channelAuth.ts).
  ToBotFromChannelOpenIdMetadataUrl: optionalUrl,
  ToBotFromChannelTokenIssuer: optionalString,
  ToChannelFromBotLoginUrl: optionalUrl,
  ToChannelFromBotOAuthScope: optionalString,
  OAuthUrl: optionalUrl,
  /** Hosts the bot may send proactive messages to (a leading `*.` matches subdomains). */
  ALLOWED_SERVICE_URL_HOSTS: commaList.default([...BOT_FRAMEWORK_HOSTS]),

  // Teams SSO and organization mapping (step 3).
  SSO_CONNECTION_NAME: optionalString,
  ENTRA_OPENID_METADATA_URL: z.preprocess(
    emptyToUndefined,
    z.string().url().default('https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration'),
  ),
  ENTRA_AUTHORITY_HOST: z.preprocess(emptyToUndefined, z.string().url().default('https://login.microsoftonline.com')),
  GRAPH_BASE_URL: z.preprocess(emptyToUndefined, z.string().url().default('https://graph.microsoft.com/v1.0')),
  /** Tenants allowed to own groups; empty = any tenant. */
  ALLOWED_TENANT_IDS: commaList,
  /** Organization admins by Entra object id (`oid`), besides anyone holding the OrgAdmin app role. */
  ORG_ADMIN_OBJECT_IDS: commaList,

  /**
   * Base secret for HMAC derivations (invite tokens re-derivable for admins, signed download links). Set it
   * from a vault in production; when empty, one is generated once and kept in the settings table.
   */
  APP_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, { message: 'must be at least 32 characters' }).optional()),

  /** Posts older than this many days are deleted (a periodic sweep); empty = keep them. */
  MESSAGE_RETENTION_DAYS: z.preprocess(
    emptyToUndefined,
    z.coerce.number().int().min(1, { message: 'must be a whole number of days (1 or more), or empty to keep posts' }).optional(),
  ),
  /** Proactive sends per second per tenant across all instances (Teams allows 50 per app per tenant). */
  TEAMS_TENANT_BUDGET_RPS: z.preprocess(emptyToUndefined, z.coerce.number().positive().max(50).default(40)),
  /** Microsoft Graph calls per second per tenant across all instances, for bulk add (Graph installs 30/s per tenant). */
  GRAPH_TENANT_BUDGET_RPS: z.preprocess(emptyToUndefined, z.coerce.number().positive().max(2000).default(25)),
  /** Bulk add jobs: how long an instance's lease on a job lasts unrenewed (a dead instance's job waits this long). */
  BULKADD_LEASE_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1_000).default(60_000)),
  /** Bulk add jobs: people per chunk (the lease is renewed and the progress written per chunk). */
  BULKADD_CHUNK: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(1_000).default(100)),
  // The Teams app's developer details (the manifest's `developer`). Empty = the pages this bot serves itself:
  // PUBLIC_URL/, PUBLIC_URL/privacy and PUBLIC_URL/terms.
  WEBSITE_URL: optionalUrl,
  PRIVACY_URL: optionalUrl,
  TERMS_URL: optionalUrl,
  /** The manifest's `developer.name`: Teams allows 32 characters. */
  DEVELOPER_NAME: z.preprocess(emptyToUndefined, z.string().trim().max(32, { message: 'must be at most 32 characters' }).optional()),
});

/** What `npm run package` reads: the ids and addresses the manifest needs, and nothing secret. */
const packagingSchema = schema.pick({
  PORT: true,
  PUBLIC_URL: true,
  MicrosoftAppId: true,
  TEAMS_APP_ID: true,
  WEBSITE_URL: true,
  PRIVACY_URL: true,
  TERMS_URL: true,
  DEVELOPER_NAME: true,
});

type Parsed = z.infer<typeof schema>;

export interface AppConfig extends Readonly<Omit<Parsed, 'PUBLIC_URL'>> {
  /** Base URL users reach the server at, without a trailing slash. */
  readonly PUBLIC_URL: string;
  /** True when the Bot Framework channel authentication is on (an app id is configured). */
  readonly channelAuthEnabled: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${key} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** A literal loopback address: IPv4 127.0.0.0/8 as a dotted quad, or IPv6 ::1 (any spelling, or IPv4-mapped). */
export function isLoopbackAddress(address: string): boolean {
  if (isIPv4(address)) return address.split('.')[0] === '127';
  if (!isIPv6(address)) return false;
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // the WHATWG form: "::1", "::ffff:7f00:1"
  } catch {
    return false; // a zone id ("::1%lo") or anything else URL parsers refuse
  }
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/**
 * A loopback address written literally, or the name `localhost` (whose addresses `verifyLoopbackHost` checks
 * at start-up). Nothing else: a text prefix test would take "127.evil.example" for loopback.
 */
export function isLoopbackHost(host: string): boolean {
  return isLoopbackAddress(host) || host.toLowerCase() === 'localhost';
}

/** Resolves a host name to all its addresses (dns.lookup with `all: true`, as `listen` would resolve it). */
export type HostResolver = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const lookupAll: HostResolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Without an app id the bot accepts unauthenticated requests, so it may only listen on this machine. loadConfig
 * has refused every HOST but a literal loopback address or `localhost`; this checks that `localhost` resolves
 * only to loopback addresses (a hosts file can say otherwise). Throws a ConfigError (one line) when not.
 */
export async function verifyLoopbackHost(
  config: Pick<AppConfig, 'HOST' | 'channelAuthEnabled'>,
  resolve: HostResolver = lookupAll,
): Promise<void> {
  if (config.channelAuthEnabled || isLoopbackAddress(config.HOST)) return;
  if (!isLoopbackHost(config.HOST)) throw notLoopback(config.HOST);
  let addresses: ReadonlyArray<{ address: string }>;
  try {
    addresses = await resolve(config.HOST);
  } catch (err) {
    throw new ConfigError('HOST', `${config.HOST} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
  }
  const outside = addresses.find((a) => !isLoopbackAddress(a.address));
  if (addresses.length === 0 || outside) {
    throw new ConfigError(
      'HOST',
      `must resolve only to loopback addresses while MicrosoftAppId is empty (${config.HOST} resolves to ${outside?.address ?? 'nothing'})`,
    );
  }
}

function notLoopback(host: string): ConfigError {
  return new ConfigError('HOST', `must be a loopback address (127.0.0.0/8, ::1) or localhost while MicrosoftAppId is empty (got ${host})`);
}

export type PackagingConfig = Readonly<Omit<z.infer<typeof packagingSchema>, 'PUBLIC_URL'> & { PUBLIC_URL: string }>;

/**
 * The settings of the Teams app package only. Packaging needs no password or storage, so it does not parse the
 * bot's whole configuration (which requires MicrosoftAppPassword whenever MicrosoftAppId is set).
 */
export function loadPackagingConfig(env: NodeJS.ProcessEnv = process.env): PackagingConfig {
  const result = packagingSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || '(environment)', issue.message.replace(/^Invalid input: /, ''));
  }
  const parsed = result.data;
  return Object.freeze({ ...parsed, PUBLIC_URL: (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, '') });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || '(environment)';
    throw new ConfigError(key, issue.message.replace(/^Invalid input: /, ''));
  }
  const parsed = result.data;
  const channelAuthEnabled = parsed.MicrosoftAppId !== undefined;

  if (channelAuthEnabled && parsed.MicrosoftAppType !== 'UserAssignedMSI' && !parsed.MicrosoftAppPassword) {
    throw new ConfigError('MicrosoftAppPassword', 'is required when MicrosoftAppId is set');
  }
  if (parsed.MicrosoftAppType !== 'MultiTenant' && channelAuthEnabled && !parsed.MicrosoftAppTenantId) {
    throw new ConfigError('MicrosoftAppTenantId', `is required when MicrosoftAppType is ${parsed.MicrosoftAppType}`);
  }
  // Without an app id the SDK accepts any request (it disables authentication), so such a bot may only be
  // reachable from this machine.
  if (!channelAuthEnabled && !isLoopbackHost(parsed.HOST)) throw notLoopback(parsed.HOST);

  const publicUrl = (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, '');
  return Object.freeze({ ...parsed, PUBLIC_URL: publicUrl, channelAuthEnabled });
}
