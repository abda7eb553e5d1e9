import { loadConfig, ConfigError, verifyLoopbackHost } from './config';
import { createLogger } from './logger';
import { startApp } from './app';
import { readyLine } from './readyLine';
import { startupFailureLine } from './startupErrors';
import { DataFolderInUseError } from './storage/dataFolderLock';

/** Entry point: read the environment, start, and stop cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    await verifyLoopbackHost(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  let app;
  try {
    app = await startApp(config, { logger });
  } catch (err) {
    if (err instanceof DataFolderInUseError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${startupFailureLine(err, config)}\n`);
    process.exit(1);
  }
  // For the person at the terminal; the JSON lines (the "bot listening" entry among them) are for machines.
  process.stdout.write(`${readyLine(app.url, config)}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await app.stop();
    logger.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`Start-up failed: ${err.message}\n`);
  process.exit(1);
});
