/**
 * Builds the Teams app package build/appPackage.zip from appPackage/ (npm run package).
 *
 *   MicrosoftAppId=<bot app id> TEAMS_APP_ID=<teams app guid> PUBLIC_URL=https://bot.example.com npm run package
 *   (optional: WEBSITE_URL, PRIVACY_URL, TERMS_URL, DEVELOPER_NAME; no password or storage setting is read)
 *   npm run package -- --dev        # placeholder GUIDs where ids are missing; for local tries only
 *   npm run package -- --out other.zip
 *
 * Placeholders: ${{BOT_ID}} (MicrosoftAppId), ${{APP_ID}} (TEAMS_APP_ID, or the bot id when unset: Teams
 * accepts the same GUID for both), ${{PUBLIC_URL}}, ${{PUBLIC_HOSTNAME}} (its host) and ${{APP_VERSION}}
 * (package.json). The command list comes from manifestCommandList() in src/teams/input/commands.ts, so the manifest's
 * command menu and the commands the bot understands cannot drift apart.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { manifestCommandList } from '../src/teams/input/commands';
import { ConfigError, loadPackagingConfig } from '../src/config';
import { AppPackageError, DEV_PLACEHOLDER_GUID, buildAppPackage, placeholderValues } from './appPackageBuilder';
import { packageSettingsProblem } from './packageSettings';

const ROOT = path.join(__dirname, '..');

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: { dev: { type: 'boolean', default: false }, out: { type: 'string' } },
    allowPositionals: false,
  });
  // Only what the package needs: no password, no storage (the bot's full configuration would require them).
  const config = loadPackagingConfig();
  const dev = args.dev === true;

  const problem = dev ? undefined : packageSettingsProblem(config);
  if (problem !== undefined) {
    console.error(problem);
    return 1;
  }
  const botId = config.MicrosoftAppId ?? DEV_PLACEHOLDER_GUID;
  const appId = config.TEAMS_APP_ID ?? botId;
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

  const values = placeholderValues({
    botId,
    appId,
    publicUrl: config.PUBLIC_URL,
    version: pkg.version,
    ...(config.WEBSITE_URL ? { websiteUrl: config.WEBSITE_URL } : {}),
    ...(config.PRIVACY_URL ? { privacyUrl: config.PRIVACY_URL } : {}),
    ...(config.TERMS_URL ? { termsUrl: config.TERMS_URL } : {}),
    ...(config.DEVELOPER_NAME ? { developerName: config.DEVELOPER_NAME } : {}),
  });
  const { zip } = await buildAppPackage({ values, commandLists: manifestCommandList() });

  const out = path.resolve(args.out ?? path.join(ROOT, 'build', 'appPackage.zip'));
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, zip);
  console.log(
    `package-app: wrote ${path.relative(process.cwd(), out) || out} (${zip.length} bytes; bot ${values.BOT_ID}, app ${values.APP_ID}, ${values.PUBLIC_URL})` +
      (dev && !config.MicrosoftAppId ? ' [dev placeholder ids: not installable in Teams]' : ''),
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof AppPackageError) console.error(`package-app: ${err.message}`);
    else console.error('package-app failed:', err);
    process.exitCode = 1;
  },
);
