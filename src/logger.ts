import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Paths pino removes from every log line. Tokens and secrets must never reach a log (ASVS 16.2.5), whatever
 * object a caller happens to log.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
  'MicrosoftAppPassword',
  '*.MicrosoftAppPassword',
  'connectionString',
  '*.connectionString',
  'STORAGE_CONNECTION_STRING',
  '*.STORAGE_CONNECTION_STRING',
  'secret',
  '*.secret',
  'value.token',
  'activity.value.token',
];

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'kaizala-groups' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}
