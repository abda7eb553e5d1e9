import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import type { TableClients } from '../storage/tables';
import { appCredentialsToken, BotFrameworkSender } from './botFrameworkSender';
import type { ChannelSender } from './channelSender';
import { QueueDeliveryEngine, type QueueDeliveryEngineOptions } from './engine';
import type { FanoutSource, RenderCopy } from './ports';
import type { WorkBody } from './workBody';
import { WorkQueue } from './workQueue';

export interface DeliveryWiring {
  config: Pick<
    AppConfig,
    | 'TEAMS_TENANT_BUDGET_RPS'
    | 'ALLOWED_SERVICE_URL_HOSTS'
    | 'channelAuthEnabled'
    | 'MicrosoftAppId'
    | 'MicrosoftAppPassword'
    | 'MicrosoftAppTenantId'
  >;
  /** The storage account's connection string with its queue endpoint (Azurite: `QueueEndpoint=...`). */
  connectionString: string;
  /** The table prefix; the queues are named `<prefix>-fanout` (lowercase) and `<prefix>-fanout-l<hash>` per lane. */
  prefix: string;
  tables: TableClients;
  source: FanoutSource;
  render: RenderCopy;
  logger: Logger;
  /** Tests and the bench pass their own; the default calls the Bot Connector REST API with the app's token. */
  sender?: ChannelSender;
  /** The bot's outbound token (the app passes the adapter's credentials: password or managed identity). */
  getToken?: () => Promise<string | undefined>;
  tuning?: Partial<QueueDeliveryEngineOptions>;
}

/** The delivery engine as the app runs it: one shared work queue, the engine's three tables, Teams' budgets. */
export function createDeliveryEngine(w: DeliveryWiring): QueueDeliveryEngine {
  const sender =
    w.sender ??
    new BotFrameworkSender({
      allowedServiceUrlHosts: w.config.ALLOWED_SERVICE_URL_HOSTS,
      allowLoopback: !w.config.channelAuthEnabled,
      getToken:
        w.getToken ??
        (w.config.MicrosoftAppId && w.config.MicrosoftAppPassword
          ? appCredentialsToken(w.config.MicrosoftAppId, w.config.MicrosoftAppPassword, w.config.MicrosoftAppTenantId)
          : undefined),
    });
  const queue = new WorkQueue<WorkBody>({
    connectionString: w.connectionString,
    name: `${(w.prefix || 'app').toLowerCase()}-fanout`,
    logger: w.logger,
  });
  return new QueueDeliveryEngine({
    source: w.source,
    render: w.render,
    sender,
    tables: { deliveries: w.tables.deliveries, outbox: w.tables.outbox, lanes: w.tables.lanes },
    queue,
    logger: w.logger,
    tenantBudgetRps: w.config.TEAMS_TENANT_BUDGET_RPS,
    ...w.tuning,
  });
}

export type { DeliveryEngine, FanoutSource, PostForDelivery, Recipient, RenderCopy } from './ports';
export { ChannelError, type ChannelSender } from './channelSender';
