import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import type { AppConfig } from '../config';
import type { AppOptions } from '../app';
import { channelTokenSource } from '../auth/channelAuth';
import { ConnectorReacher } from '../bulkadd/connectorReacher';
import { GraphClient } from '../bulkadd/graphClient';
import { GraphDirectory } from '../bulkadd/graphDirectory';
import { GraphInstaller } from '../bulkadd/graphInstaller';
import { GraphBudget } from '../bulkadd/graphBudget';
import type { TableClient } from '@azure/data-tables';
import { BulkJobStore } from '../bulkadd/jobStore';
import { BulkAddWorker, type Reacher } from '../bulkadd/jobWorker';
import { PastedListRequests } from '../bulkadd/pastedList';
import { UploadRequests } from '../bulkadd/uploadRequests';
import type { VerifiedUser } from '../auth/entraTokenVerifier';
import { ORG_ADMIN_ROLE } from '../../dialogs/organizationFlow';
import { sampleChannelUserId, SampleDirectory } from '../bulkadd/sampleDirectory';
import type { UserDirectory } from '../bulkadd/ports';
import { BotFrameworkSender } from '../delivery/botFrameworkSender';
import { BulkAddFlow } from '../teams/handlers/bulkAddFlow';
import { BulkAddNotices } from '../teams/notices/bulkAddNotices';
import type { Domain } from './storage';
import type { ConversationWiring } from './conversation';

/** How often each instance looks for open jobs (a confirm also starts a look at once). */
const TICK_MS = 3_000;
const PUBLIC_AUTHORITY_HOST = 'login.microsoftonline.com';
/** Where welcomes of a job started from the tab go out (a chat turn gives its own service URL instead). */
const TEAMS_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';

/**
 * Bulk add (issue 18): the chat's pasted-list flow and a job worker per instance. With an app registration,
 * people are looked up and reached through Microsoft Graph (the app installed for them); without one
 * (`npm start`, the playground) the built-in sample directory plans, and each person's chat is created on the
 * admin's channel service URL, as the delivery engine does for a member without a chat.
 */
export function wireBulkAdd(config: AppConfig, options: AppOptions, domain: Domain, chat: ConversationWiring) {
  const { logger } = options;
  const store = new BulkJobStore(domain.tables.bulkjobs);
  const holder = randomUUID();
  const { directoryFor, reacherFor, sender } = bulkAddReach(config, options, { table: domain.tables.bulkjobs, holder });
  // The progress card in the admin's chat: one card, sent once and updated at most every 5 s.
  const notices = new BulkAddNotices(chat.engine, { channel: sender, jobs: store });
  const worker = new BulkAddWorker({
    store,
    groups: domain.groups,
    reacherFor,
    welcomer: notices,
    reporter: notices,
    holder,
    leaseMs: config.BULKADD_LEASE_MS,
    chunk: config.BULKADD_CHUNK,
    botId: `28:${config.MicrosoftAppId ?? 'kaizala-bot'}`,
  });
  const tick = () =>
    void worker
      .runOnce()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'bulk add: a job run failed; retried next tick'));
  const flow = new BulkAddFlow(new PastedListRequests({ groups: domain.groups, directoryFor, jobs: store, kick: tick }));
  // The tab's requests (lists and CSV files); its routes are wired with the server's (src/web/bulkAddApi.ts).
  const tab = {
    requests: new UploadRequests({ groups: domain.groups, directoryFor, jobs: store, kick: tick }),
    isOrgAdmin: (user: VerifiedUser) =>
      user.roles.includes(ORG_ADMIN_ROLE) || config.ORG_ADMIN_OBJECT_IDS.some((id) => id.toLowerCase() === user.objectId.toLowerCase()),
    serviceUrl: TEAMS_SERVICE_URL,
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    flow,
    tab,
    start() {
      timer ??= setInterval(tick, TICK_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      // A run in progress finishes its chunk (its rows are recorded) before the engine it sends through stops.
      await worker.stop();
    },
  };
}

export type BulkAddWiring = ReturnType<typeof wireBulkAdd>;

/** Who the addresses are (the directory) and how each person is reached, per tenant. */
export function bulkAddReach(
  config: AppConfig,
  options: Pick<AppOptions, 'fetch' | 'graphTlsCa'>,
  shared?: { table: TableClient; holder: string },
) {
  const graphFor = graphClients(config, options);
  const sample = new SampleDirectory();
  // Every Graph call of every instance for a tenant within GRAPH_TENANT_BUDGET_RPS; a 429 pauses them all.
  const budget = shared ? new GraphBudget({ ...shared, rps: config.GRAPH_TENANT_BUDGET_RPS }) : undefined;
  const paced = (tenantId: string) => {
    const tenant = budget?.forTenant(tenantId);
    return tenant ? { take: (calls: number) => tenant.take(calls), sleep: (ms: number) => tenant.pause(ms) } : {};
  };
  const directoryFor = (tenantId: string): UserDirectory => {
    const client = graphFor?.(tenantId);
    return client ? new GraphDirectory({ client, tenantId, ...paced(tenantId) }) : sample;
  };
  const installers = new Map<string, GraphInstaller>();
  const sender = new BotFrameworkSender({
    allowedServiceUrlHosts: config.ALLOWED_SERVICE_URL_HOSTS,
    allowLoopback: !config.channelAuthEnabled,
    getToken: channelTokenSource(config, options.fetch ? { fetch: options.fetch } : {}),
  });
  const reacherFor = (tenantId: string, serviceUrl: string): Reacher => {
    const client = graphFor?.(tenantId);
    if (!client)
      return new ConnectorReacher(
        (userId, tenant, url) => sender.createConversation(sampleChannelUserId(userId, url), tenant, url),
        tenantId,
        serviceUrl,
      );
    // One per tenant: it looks the app's catalog id up once.
    let installer = installers.get(tenantId);
    if (!installer) {
      // The install is the one Graph call a person: the channel opens the chat at the welcome (Teams' budget).
      installer = new GraphInstaller({
        client,
        manifestAppId: config.MicrosoftAppId!,
        graphRoot: config.GRAPH_BASE_URL,
        findChat: false,
        ...paced(tenantId),
      });
      installers.set(tenantId, installer);
    }
    return installer;
  };
  return { directoryFor, reacherFor, sender };
}

/** A Graph client per tenant (the organization's own token authority), when the app id and password are set. */
function graphClients(
  config: AppConfig,
  options: Pick<AppOptions, 'fetch' | 'graphTlsCa'>,
): ((tenantId: string) => GraphClient) | undefined {
  const appId = config.MicrosoftAppId;
  const password = config.MicrosoftAppPassword;
  if (!appId || !password) return undefined;
  const clients = new Map<string, GraphClient>();
  return (tenantId) => {
    let client = clients.get(tenantId);
    if (!client) {
      client = new GraphClient({
        baseUrl: config.GRAPH_BASE_URL,
        credential: new ClientSecretCredential(tenantId, appId, password, {
          authorityHost: config.ENTRA_AUTHORITY_HOST,
          // Instance discovery asks the public cloud about the authority: an authority set on purpose (a sovereign
          // cloud, a local stand-in) is taken as given.
          ...(new URL(config.ENTRA_AUTHORITY_HOST).host !== PUBLIC_AUTHORITY_HOST ? { disableInstanceDiscovery: true } : {}),
          ...(options.graphTlsCa ? { tlsOptions: { ca: options.graphTlsCa } } : {}),
        }),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      clients.set(tenantId, client);
    }
    return client;
  };
}
