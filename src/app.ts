import type { CloudAdapter } from 'botbuilder';
import type { AppConfig } from './config';
import type { Logger } from './logger';
import { listen, close } from './server';
import { BackgroundWork } from './teams/proactive';
import type { TableClients } from './storage/tables';
import type { GroupService } from './groups/groupService';
import type { ConversationService } from './groups/conversationService';
import type { TablePostStore } from './storage/tablePostStore';
import { DAY_MS, RetentionSweeper } from './retentionSweeper';
import type { JoinDigests } from './teams/notices/joinDigest';
import type { PhotoFetchOptions } from './web/photoFetcher';
import type { DeliveryEngine, FanoutSource, RenderCopy } from './delivery/ports';
import type { QueueDeliveryEngineOptions } from './delivery/engine';
import { openStorageAccount, wireDomain } from './wiring/storage';
import { wireConversation } from './wiring/conversation';
import type { ActionService } from './actions/actionService';
import type { PollClosing } from './actions/pollClosing';
import type { ImportService } from './import/importService';
import { wireBot, wireSignIn } from './wiring/dialogs';
import { wireAdapter, wireServer } from './wiring/server';
import { wireBulkAdd } from './wiring/bulkAdd';

/** The bot's display name, as in the manifest. */
export const BOT_NAME = 'Kaizala Groups';

export interface AppOptions {
  logger: Logger;
  /** Table name prefix, so that tests can share one storage account. */
  tablePrefix?: string;
  /** Tests only: how group photos may be fetched (their own CA, a loopback address policy). */
  photoFetchOptions?: PhotoFetchOptions;
  /** Hosts a chat export sent in Teams may be downloaded from (default: Teams' own file storage); tests use a stand-in. */
  exportFileHosts?: readonly string[];
  /** Tests only: fetch used to reach Entra and Graph stand-ins. */
  fetch?: typeof fetch;
  /**
   * Tests only: a delivery engine in place of the real one (src/delivery), built over the posts' FanoutSource and
   * RenderCopy (the contract in src/delivery/ports.ts). The posting tests pass a recording one.
   */
  createDeliveryEngine?: (deps: { source: FanoutSource; render: RenderCopy; logger: Logger }) => DeliveryEngine;
  /** Tests only: the CA of a local Entra stand-in (ENTRA_AUTHORITY_HOST) that bulk add's Graph tokens come from. */
  graphTlsCa?: string;
  /** Tests only: the real engine's timings (shorter polls and leases). */
  deliveryTuning?: Partial<QueueDeliveryEngineOptions>;
}

export interface RunningApp {
  readonly url: string;
  readonly tables: TableClients;
  readonly groups: GroupService;
  readonly adapter: CloudAdapter;
  readonly posts: TablePostStore;
  readonly conversation: ConversationService;
  /** Importing chat exports as earlier history (issue 20). */
  readonly imports: ImportService;
  readonly delivery: DeliveryEngine;
  /** Present when MESSAGE_RETENTION_DAYS is set. */
  readonly retention?: RetentionSweeper;
  /** Daily join digests (group types): sends the digests marked before a cutoff (the hourly sweep: a day ago). */
  readonly joinDigests: Pick<JoinDigests, 'deleteOlderThan'>;
  /** Finishes post deletions a crash left unfinished (issue 17). */
  readonly deletedPosts: RetentionSweeper;
  /** Announcements and polls (issue 19): their rules and their table. */
  readonly actions: ActionService;
  /** Closes polls at their closing time and posts their results once (every minute). */
  readonly pollClosing: PollClosing;
  /** Waits for the work begun after a turn answered (notices, reminders). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The composition root: config -> storage -> domain -> conversation -> dialogs -> bot -> adapter -> server.
 * Nothing here decides anything; each part is built once (src/wiring) and takes its collaborators in its constructor.
 */
export async function startApp(config: AppConfig, options: AppOptions): Promise<RunningApp> {
  const { logger } = options;
  const account = await openStorageAccount(config, logger);
  try {
    const domain = await wireDomain(config, account, options.tablePrefix);
    const { adapter, redelivery, leaseSweep } = wireAdapter(config, options, domain);
    const background = new BackgroundWork(logger);
    const chat = wireConversation(config, options, account, domain, background);
    const signIn = wireSignIn(config, options);
    const bulkAdd = wireBulkAdd(config, options, domain, chat);
    const bot = wireBot(config, options, domain, chat, signIn, { botName: BOT_NAME, background, bulkAdd: bulkAdd.flow });
    const server = wireServer(config, options, { account, domain, adapter, chat, signIn, bot, bulkAdd: bulkAdd.tab });
    const { engine, retention, deletedPosts } = chat;
    // The engine first: the first post accepted after listening can be delivered.
    await engine.start();
    const url = await listen(server, config.PORT, config.HOST).catch(async (err: unknown) => {
      await engine.stop();
      throw err;
    });
    logger.info(
      { url, publicUrl: config.PUBLIC_URL, embeddedStorage: Boolean(account.embedded), channelAuth: config.channelAuthEnabled },
      'bot listening',
    );
    retention?.start();
    // Every hour, the join digests marked a day ago or more go to their groups' admins.
    const digestSweep = new RetentionSweeper(bot.joinDigests, { what: 'join digests sent', keepMs: DAY_MS }, logger);
    digestSweep.start();
    deletedPosts.start();
    leaseSweep.start();
    bulkAdd.start();
    chat.importJobs.start();
    chat.actions.closing.start();

    return {
      url,
      tables: domain.tables,
      groups: domain.groups,
      adapter,
      posts: chat.postStore,
      conversation: chat.conversation,
      imports: chat.imports,
      delivery: engine,
      retention,
      joinDigests: bot.joinDigests,
      deletedPosts,
      actions: chat.actions.service,
      pollClosing: chat.actions.closing,
      settled: () => background.drain(),
      async stop() {
        account.embedded?.shuttingDown();
        await close(server);
        // Side by side: each waits at most a storage timeout when storage is down, and none needs another.
        // Pending join notices and copy deletions hand their work to the engine's queue before it stops.
        // Bulk add's welcomes and reports go through the engine: its worker stops first.
        await Promise.all([
          redelivery.drain(),
          retention?.stop(),
          digestSweep.stop(),
          leaseSweep.stop(),
          background.drain(),
          bulkAdd.stop(),
          chat.importJobs.stop(),
          deletedPosts.stop(),
          chat.actions.closing.stop(),
        ]);
        await engine.stop();
        await account.embedded?.stop();
      },
    };
  } catch (err) {
    await account.embedded?.stop();
    throw err;
  }
}
