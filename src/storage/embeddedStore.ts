import path from 'node:path';
import type { Logger } from '../logger';
import type { AzuriteService } from './azuriteChild';
import { acquireDataFolderLock } from './dataFolderLock';
import { startEmbeddedAzurite, type EmbeddedAzurite } from './embeddedAzurite';

export interface EmbeddedStoreOptions {
  /** DATA_DIR: Azurite's files go to `<dataDir>/azurite`, its pid files and the lock next to it. */
  dataDir: string;
  logger: Logger;
  /** After a storage child was replaced: whatever the bot cached from storage may be ahead of it now. */
  onRestart?: (service: AzuriteService) => void;
  /** The bot's own port: Azurite's must differ (see EmbeddedAzuriteOptions.avoidPorts). */
  avoidPorts?: readonly number[];
}

export const TABLE_PID_FILE = 'azurite-table.pid';
export const QUEUE_PID_FILE = 'azurite-queue.pid';

/**
 * The bot's own storage when no storage account is configured: the data folder is locked for this process
 * (one bot, one Azurite per folder), then Azurite's table and queue services run on it, supervised.
 * Throws DataFolderInUseError when another live bot keeps the folder.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedAzurite> {
  const dataDir = path.resolve(options.dataDir);
  const lock = await acquireDataFolderLock(dataDir, {
    childPidFiles: [TABLE_PID_FILE, QUEUE_PID_FILE].map((file) => path.join(dataDir, file)),
    logger: options.logger,
  });
  try {
    const azurite = await startEmbeddedAzurite({
      location: path.join(dataDir, 'azurite'),
      queue: true,
      ...(options.avoidPorts ? { avoidPorts: options.avoidPorts } : {}),
      pidDir: dataDir,
      logger: options.logger,
      onRestart: (service) => {
        options.logger.warn({ service }, 'storage restarted; cached storage reads dropped');
        options.onRestart?.(service);
      },
    });
    return {
      ...azurite,
      get pid() {
        return azurite.pid;
      },
      get queuePid() {
        return azurite.queuePid;
      },
      healthy: () => azurite.healthy(),
      restarts: () => azurite.restarts(),
      shuttingDown: () => azurite.shuttingDown(),
      async stop() {
        try {
          await azurite.stop();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
