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
  z
    .string()
    .trim()
    .url({ message: 'must be an absolute URL such as https://example.com' })
    .optional(),
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

const schema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).default(3978)),
  HOST: z.preprocess(emptyToUndefined, z.string().trim().default('127.0.0.1')),
  PUBLIC_URL: optionalUrl,
  STORAGE_CONNECTION_STRING: optionalString,
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().trim().default('.data')),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(LOG_LEVELS).default('info')),

  // Bot Framework identity, with the SDK's own key names so that its documentation applies as written.
  MicrosoftAppId: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(guid, { message: 'must be the bot app registration id (a GUID)' }).optional(),
  ),
  MicrosoftAppPassword: optionalString,
  /** The Teams app id (the manifest's `id`, a GUID); used only when packaging the app (scripts/package-app.ts). */
  TEAMS_APP_ID: z.preprocess(
    emptyToUndefined,
    z.string().trim().regex(guid, { message: 'must be the Teams app id (a GUID)' }).optional(),
  ),
  MicrosoftAppType: z.preprocess(
    emptyToUndefined,
    z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  ),
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
  ALLOWED_SERVICE_URL_HOSTS: commaList.default([
    'smba.trafficmanager.net',
    '*.smba.trafficmanager.net',
    '*.botframework.com',
  ]),

  // Teams SSO and organization mapping (step 3).
  SSO_CONNECTION_NAME: optionalString,
  ENTRA_OPENID_METADATA_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .url()
      .default('https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration'),
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

  /** Proactive sends per second per tenant across all instances (Teams allows 50 per app per tenant). */
  TEAMS_TENANT_BUDGET_RPS: z.preprocess(emptyToUndefined, z.coerce.number().positive().max(50).default(40)),
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

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
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
  if (!channelAuthEnabled && !isLoopbackHost(parsed.HOST)) {
    throw new ConfigError('HOST', `must be a loopback address while MicrosoftAppId is empty (got ${parsed.HOST})`);
  }

  const publicUrl = (parsed.PUBLIC_URL ?? `http://localhost:${parsed.PORT}`).replace(/\/+$/, '');
  return Object.freeze({ ...parsed, PUBLIC_URL: publicUrl, channelAuthEnabled });
}
