import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import type { JsonObject } from '../scripts/appPackageBuilder';
import { renderPrivacyPage } from '../src/web/infoPages';

const ROOT = path.join(__dirname, '..');

/** The one `npm run package` line of the README's fenced examples. */
function readmePackageCommand(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines = blocks.flatMap((b) => b.split('\n').map((l) => l.trim())).filter((l) => l.endsWith('npm run package'));
  assert.equal(lines.length, 1, `one packaging example in the README, found ${lines.length}`);
  return lines[0]!;
}

describe('The README packaging example', function () {
  this.timeout(120_000);

  it('builds a valid package as written, with no password and no other setting in the environment', async function () {
    const command = readmePackageCommand();
    assert.match(command, /^MicrosoftAppId=[0-9a-f-]{36} TEAMS_APP_ID=[0-9a-f-]{36} PUBLIC_URL=https:\/\/\S+ npm run package$/);
    // A clean environment: what a new user has in a fresh shell (PATH and HOME only), so nothing else can help.
    const home = mkdtempSync(path.join(os.tmpdir(), 'package-readme-'));
    try {
      const run = spawnSync('bash', ['-c', command], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, `the command failed:\n${run.stdout}\n${run.stderr}`);
      assert.doesNotMatch(run.stderr, /MicrosoftAppPassword/);
      assert.match(run.stdout, /package-app: wrote build\/appPackage\.zip/);

      const zip = await JSZip.loadAsync(readFileSync(path.join(ROOT, 'build', 'appPackage.zip')));
      const manifest = JSON.parse(await zip.file('manifest.json')!.async('string')) as JsonObject;
      assert.equal(manifest['id'], '66666666-7777-4888-9999-aaaaaaaaaaaa');
      assert.deepEqual(manifest['developer'], {
        name: 'Kaizala Groups for Teams',
        websiteUrl: 'https://groups.contoso.example/',
        privacyUrl: 'https://groups.contoso.example/privacy',
        termsOfUseUrl: 'https://groups.contoso.example/terms',
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('A bare npm run package', function () {
  this.timeout(120_000);

  it('says in one line what a real package needs (the three settings) and how to try one (--dev), and builds nothing', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'package-bare-'));
    const out = path.join(home, 'bare.zip');
    try {
      const run = spawnSync('bash', ['-c', `npm run --silent package -- --out ${out}`], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        encoding: 'utf8',
      });
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      for (const part of [
        'MicrosoftAppId=',
        'TEAMS_APP_ID=',
        'PUBLIC_URL=https://',
        'npm run package -- --dev',
        'MicrosoftAppId is not set',
      ]) {
        assert.ok(lines[0]!.includes(part), `"${part}" in: ${lines[0]}`);
      }
      assert.throws(() => readFileSync(out), /ENOENT/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('is shown both ways in the README: with the three settings, and with --dev', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.match(readmePackageCommand(), /MicrosoftAppId=\S+ TEAMS_APP_ID=\S+ PUBLIC_URL=https:\/\/\S+ npm run package$/);
    assert.match(readme, /```bash\n\s*npm run package -- --dev\n\s*```/);
  });
});

describe('The privacy page', () => {
  it('states how long data is kept: until the group is deleted, or the retention setting when there is one', () => {
    assert.match(renderPrivacyPage(), /kept until the group is deleted/);
    assert.match(renderPrivacyPage({ retentionDays: 30 }), /deleted after 30 days \(the MESSAGE_RETENTION_DAYS setting/);
  });
});
