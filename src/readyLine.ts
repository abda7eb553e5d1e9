import type { AppConfig } from './config';

/**
 * The one line `npm start` prints for people once the bot listens, beside the JSON log lines meant for
 * machines: where the bot is and what to do next. A local bot (no app id: Teams cannot reach it) is tried
 * through the playground; a deployed one is reached by Teams at PUBLIC_URL, which the Azure Bot resource's
 * messaging endpoint must name.
 */
export function readyLine(url: string, config: Pick<AppConfig, 'channelAuthEnabled' | 'PUBLIC_URL'>): string {
  const next = config.channelAuthEnabled
    ? `Teams reaches it at ${config.PUBLIC_URL}/api/messages (the Azure Bot's messaging endpoint)`
    : 'chat with it: npm run playground';
  return `Kaizala Groups bot on ${url} — ${next}. Ctrl+C stops it.`;
}
