import type { AppConfig } from './config';

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
