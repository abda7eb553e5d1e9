/**
 * What `npm run package` needs before it writes a package Teams can install, and the one line it prints when
 * something is missing. A new user runs the bare command first: the line names both ways at once (the three
 * settings of a real package, or `--dev` for a local try), so nobody has to read the script to continue.
 */
import type { PackagingConfig } from '../src/config';

/** The example a real package follows (the README's line, with placeholders). */
const REAL_EXAMPLE = 'MicrosoftAppId=<bot app id> TEAMS_APP_ID=<a GUID you keep> PUBLIC_URL=https://<your host> npm run package';
const DEV_EXAMPLE = 'npm run package -- --dev';

/** Undefined when a real package can be built; otherwise the one line that says what to do. */
export function packageSettingsProblem(config: Pick<PackagingConfig, 'MicrosoftAppId' | 'PUBLIC_URL'>): string | undefined {
  const missing: string[] = [];
  if (!config.MicrosoftAppId) missing.push('MicrosoftAppId is not set');
  if (!config.PUBLIC_URL.startsWith('https://')) missing.push(`PUBLIC_URL is ${config.PUBLIC_URL}, not an https URL Teams can reach`);
  if (missing.length === 0) return undefined;
  // TEAMS_APP_ID alone may be missing (the bot's id stands in for it), but it belongs in the example: an app id
  // changed later makes Teams treat the package as another app.
  return `package-app: ${missing.join(' and ')}. A package for Teams needs three settings: ${REAL_EXAMPLE}. For a local try with placeholder ids: ${DEV_EXAMPLE}`;
}
