import { ConfigError, type AppConfig } from './config';

/**
 * The one line printed when start-up fails. A busy port is the common case on a developer's machine (another
 * bot, the playground, anything on 3978), so it names the setting that fixes it.
 */
export function startupFailureLine(err: unknown, config: Pick<AppConfig, 'PORT' | 'HOST'>): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return `Start-up failed: port ${config.PORT} on ${config.HOST} is already in use by another process. Set PORT to a free port, for example PORT=${config.PORT === 4000 ? 4001 : 4000} npm start.`;
  }
  return `Start-up failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** The engine needs the account's queues: a connection string without a queue endpoint fails start-up in words. */
export function queueEngineOrExplain<T>(create: () => T): T {
  try {
    return create();
  } catch (err) {
    throw new ConfigError(
      'STORAGE_CONNECTION_STRING',
      `cannot reach the storage account's queues, which the group conversation's delivery needs (${(err as Error).message}). Use the account's full connection string (with QueueEndpoint for Azurite).`,
    );
  }
}
