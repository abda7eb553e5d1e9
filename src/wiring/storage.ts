import { createHmac } from 'node:crypto';
import { UserState } from 'botbuilder';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import type { EmbeddedAzurite } from '../storage/embeddedAzurite';
import { openEmbeddedStore } from '../storage/embeddedStore';
import { createTableClients, ensureTables, type TableClients } from '../storage/tables';
import { TableStorage } from '../storage/tableStorage';
import { DedupStore } from '../storage/dedupStore';
import { TableGroupStore } from '../storage/tableGroupStore';
import { TableWindowCounter } from '../storage/windowCounter';
import { loadOrCreateAppSecret } from '../storage/appSecret';
import { GroupService } from '../groups/groupService';
import { JoinCodeLimiter } from '../groups/joinAttemptLimiter';
import { UrlSigner } from '../web/signedUrls';
import { JsonSnapshotConversationState } from '../teams/jsonSnapshotState';

/** The storage account: the embedded one unless STORAGE_CONNECTION_STRING names another. */
export interface StorageAccount {
  connectionString: string;
  embedded?: EmbeddedAzurite;
  /** Parts that cache storage reads register here: a replaced storage child may lack its last unsaved writes. */
  staleCaches: Array<() => void>;
}

export async function openStorageAccount(config: AppConfig, logger: Logger): Promise<StorageAccount> {
  const staleCaches: Array<() => void> = [];
  if (config.STORAGE_CONNECTION_STRING) return { connectionString: config.STORAGE_CONNECTION_STRING, staleCaches };
  // Nothing cached from before a restart may be trusted.
  const embedded = await openEmbeddedStore({
    dataDir: config.DATA_DIR,
    logger,
    avoidPorts: [config.PORT],
    onRestart: () => staleCaches.forEach((drop) => drop()),
  });
  return { connectionString: embedded.connectionString, embedded, staleCaches };
}

/** The tables, the bot's state, the group domain and the URL signer over one storage account. */
export async function wireDomain(config: AppConfig, account: StorageAccount, tablePrefix: string | undefined) {
  const tables: TableClients = createTableClients({
    connectionString: account.connectionString,
    prefix: tablePrefix,
    timeoutMs: config.STORAGE_TIMEOUT_MS,
  });
  await ensureTables(tables);
  const appSecret = await loadOrCreateAppSecret(tables.settings, config.APP_SECRET);
  const stateStorage = new TableStorage(tables.botstate);
  const groupStore = new TableGroupStore(tables);
  const joinCodeCounter = new TableWindowCounter(tables.limits);
  const groups = new GroupService({
    store: groupStore,
    appSecret,
    publicUrl: config.PUBLIC_URL,
    allowedTenantIds: config.ALLOWED_TENANT_IDS,
    joinCodeAttempts: new JoinCodeLimiter(joinCodeCounter),
  });
  account.staleCaches.push(
    () => joinCodeCounter.dropCaches(),
    () => groupStore.dropCaches(),
    () => groups.dropCaches(),
  );
  return {
    tables,
    groups,
    conversationState: new JsonSnapshotConversationState(stateStorage),
    userState: new UserState(stateStorage),
    dedup: new DedupStore(tables.dedup),
    // Its own key, derived from the app secret, so a signed URL can never stand in for an invite token.
    signer: new UrlSigner({ secret: createHmac('sha256', appSecret).update('signed-urls').digest(), publicUrl: config.PUBLIC_URL }),
  };
}

export type Domain = Awaited<ReturnType<typeof wireDomain>>;
