import path from 'node:path';
import { CloudAdapter, ConversationState, UserState, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { AppConfig } from './config';
import type { Logger } from './logger';
import { KaizalaBot } from './bot';
import { RedeliveryGuard } from './dedupMiddleware';
import { isWellFormedActivity } from './activityShape';
import { createTurnErrorHandler } from './turnErrors';
import { createServer, listen, close } from './server';
import { startEmbeddedAzurite, type EmbeddedAzurite } from './storage/embeddedAzurite';
import { createTableClients, ensureTables, type TableClients } from './storage/tables';
import { TableStorage } from './storage/tableStorage';
import { DedupStore } from './storage/dedupStore';
import { loadOrCreateAppSecret } from './storage/appSecret';
import { createStorageHealthCheck } from './storage/storageHealth';
import { createBotFrameworkAuthentication, createChannelGate, processAuthenticated } from './auth/channelAuth';
import { Conversation } from '../dialogs/conversation';

export interface AppOptions {
  logger: Logger;
  /** Table name prefix, so that tests can share one storage account. */
  tablePrefix?: string;
}

export interface RunningApp {
  readonly url: string;
  readonly tables: TableClients;
  readonly adapter: CloudAdapter;
  stop(): Promise<void>;
}

/**
 * The composition root: config -> storage -> repositories -> state -> dialogs -> bot -> adapter -> server.
 * Nothing here decides anything; each part takes its collaborators in its constructor.
 */
export async function startApp(config: AppConfig, { logger, tablePrefix }: AppOptions): Promise<RunningApp> {
  let embedded: EmbeddedAzurite | undefined;
  let connectionString = config.STORAGE_CONNECTION_STRING;
  if (!connectionString) {
    embedded = await startEmbeddedAzurite({ location: path.resolve(config.DATA_DIR, 'azurite'), logger });
    connectionString = embedded.connectionString;
  }
  try {
    const tables = createTableClients({ connectionString, prefix: tablePrefix });
    await ensureTables(tables);
    const appSecret = await loadOrCreateAppSecret(tables.settings, config.APP_SECRET);

    const stateStorage = new TableStorage(tables.botstate);
    const conversationState = new ConversationState(stateStorage);
    const userState = new UserState(stateStorage);
    const dedup = new DedupStore(tables.dedup);

    const conversation = new Conversation({ conversationState, userState, logger, config, appSecret });
    const bot = new KaizalaBot(conversation, [conversationState, userState]);

    const adapter = new CloudAdapter(createBotFrameworkAuthentication(config, { logger }));
    adapter.onTurnError = createTurnErrorHandler(logger);
    adapter.use(new RedeliveryGuard(dedup, logger));

    const gate = createChannelGate(config);
    const server = createServer({
      logger,
      healthCheck: createStorageHealthCheck(tables.settings),
      handleMessages: async (req: Request, res: Response) => {
        if (gate(req.headers.authorization).ok && !isWellFormedActivity(req.body)) {
          res.status(400);
          res.json({ error: 'The request is not a Bot Framework activity.' });
          return;
        }
        await processAuthenticated({ adapter, gate, logger }, req, res, (context: TurnContext) => bot.run(context));
      },
    });
    const url = await listen(server, config.PORT, config.HOST);
    logger.info({ url, publicUrl: config.PUBLIC_URL, embeddedStorage: Boolean(embedded), channelAuth: config.channelAuthEnabled }, 'bot listening');

    return {
      url,
      tables,
      adapter,
      async stop() {
        await close(server);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
