import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import JSZip from 'jszip';
import sharp from 'sharp';
import { manifestCommandList } from '../src/teams/input/commands';
import {
  APP_PACKAGE_DIR,
  AppPackageError,
  MIN_MANIFEST_VERSION,
  buildAppPackage,
  compareManifestVersions,
  fillManifest,
  placeholderValues,
  readManifestTemplate,
  readPngInfo,
  validateManifest,
  type JsonObject,
} from '../scripts/appPackageBuilder';

const BOT_ID = '11111111-2222-4333-8444-555555555555';
const APP_ID = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const values = placeholderValues({ botId: BOT_ID, appId: APP_ID, publicUrl: 'https://groups.contoso.example/', version: '0.1.0' });

type Bot = { botId: string; scopes: string[]; commandLists: unknown; supportsFiles?: boolean };

describe('Teams app package', function () {
  let template: JsonObject;
  let manifest: JsonObject;

  before(async function () {
    template = await readManifestTemplate();
    manifest = fillManifest(template, values, manifestCommandList());
  });

  it('fills every placeholder', function () {
    const text = JSON.stringify(manifest);
    assert.doesNotMatch(text, /\$\{\{/);
    assert.equal(manifest['id'], APP_ID);
  });

  it('validates offline against the bundled schema with 0 errors', async function () {
    const errors = await validateManifest(manifest);
    assert.deepEqual(errors, []);
  });

  it('uses schema v1.19 or later (1.18 cannot be validated offline)', function () {
    const version = manifest['manifestVersion'] as string;
    assert.ok(compareManifestVersions(version, MIN_MANIFEST_VERSION) >= 0, `manifestVersion ${version}`);
    assert.notEqual(version, '1.18');
    assert.match(manifest['$schema'] as string, new RegExp(`/teams/v${version.replace('.', '\\.')}/MicrosoftTeams\\.schema\\.json$`));
  });

  it('has the bot in personal, groupChat and team scopes with the command list of src/teams/input/commands.ts', function () {
    const bots = manifest['bots'] as Bot[];
    assert.equal(bots.length, 1);
    const bot = bots[0]!;
    assert.equal(bot.botId, BOT_ID);
    assert.deepEqual([...bot.scopes].sort(), ['groupChat', 'personal', 'team']);
    assert.equal(bot.supportsFiles, true, 'photos arrive as file attachments in 1:1 chat only with supportsFiles');
    const expected = JSON.parse(JSON.stringify(manifestCommandList())) as unknown;
    assert.deepEqual(bot.commandLists, expected);
    assert.ok((bot.commandLists as unknown[]).length > 0, 'the command list is not empty');
  });

  it('declares SSO (webApplicationInfo) and the valid domains', function () {
    // One Application ID URI serves the bot's SSO and the tab's getAuthToken: api://<host>/botid-<id>.
    assert.deepEqual(manifest['webApplicationInfo'], { id: BOT_ID, resource: `api://groups.contoso.example/botid-${BOT_ID}` });
    const domains = manifest['validDomains'] as string[];
    assert.ok(domains.includes('groups.contoso.example'));
    assert.ok(domains.includes('token.botframework.com'));
  });

  it('has the personal "My groups" tab on the public URL', function () {
    const tabs = manifest['staticTabs'] as Array<Record<string, unknown>>;
    const tab = tabs.find((t) => t['name'] === 'My groups');
    assert.ok(tab);
    assert.equal(tab['contentUrl'], 'https://groups.contoso.example/tab');
    assert.equal(tab['websiteUrl'], 'https://groups.contoso.example/tab');
    assert.deepEqual(tab['scopes'], ['personal']);
  });

  it('zips exactly manifest.json, color.png and outline.png at the root', async function () {
    const { zip } = await buildAppPackage({ values, commandLists: manifestCommandList() });
    const archive = await JSZip.loadAsync(zip);
    const names = Object.keys(archive.files).sort();
    assert.deepEqual(names, ['color.png', 'manifest.json', 'outline.png']);
    const inZip = JSON.parse(await archive.file('manifest.json')!.async('string')) as JsonObject;
    assert.deepEqual(inZip, manifest);
    const color = readPngInfo(await archive.file('color.png')!.async('nodebuffer'));
    const outline = readPngInfo(await archive.file('outline.png')!.async('nodebuffer'));
    assert.deepEqual([color.width, color.height], [192, 192]);
    assert.deepEqual([outline.width, outline.height], [32, 32]);
    assert.equal(outline.hasAlpha, true);
  });

  it('has a white-on-transparent outline icon', async function () {
    const png = await readFile(path.join(APP_PACKAGE_DIR, 'outline.png'));
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    let transparent = 0;
    let drawn = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      const alpha = data[i + 3]!;
      if (alpha === 0) transparent++;
      else {
        drawn++;
        assert.ok(data[i]! >= 250 && data[i + 1]! >= 250 && data[i + 2]! >= 250, `pixel ${i / 4} is not white`);
      }
    }
    assert.ok(transparent > 32 * 32 * 0.3, 'mostly transparent');
    assert.ok(drawn > 50, 'something is drawn');
    // The corners are background.
    assert.equal(data[3], 0);
  });

  it('reports errors for a manifest with a bad field', async function () {
    const bad = structuredClone(manifest);
    bad['accentColor'] = 'blue';
    bad['unknownField'] = true;
    (bad['bots'] as Bot[])[0]!.scopes = ['personal', 'everywhere'];
    const errors = await validateManifest(bad);
    assert.ok(errors.length >= 3, errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('/accentColor')));
    assert.ok(errors.some((e) => e.includes('unknownField')));
  });

  it('refuses a schema that is not bundled (it would need the network)', async function () {
    const v118 = { ...manifest, $schema: 'https://developer.microsoft.com/json-schemas/teams/v1.18/MicrosoftTeams.schema.json' };
    const errors = await validateManifest(v118);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /not bundled/);
  });

  it('points the developer links at the pages the bot serves, and validates with links of your own', async function () {
    assert.deepEqual(manifest['developer'], {
      name: 'Kaizala Groups for Teams',
      websiteUrl: 'https://groups.contoso.example/',
      privacyUrl: 'https://groups.contoso.example/privacy',
      termsOfUseUrl: 'https://groups.contoso.example/terms',
    });
    const own = placeholderValues({
      botId: BOT_ID,
      appId: APP_ID,
      publicUrl: 'https://groups.contoso.example',
      version: '0.1.0',
      websiteUrl: 'https://contoso.example/teams-groups',
      privacyUrl: 'https://contoso.example/privacy',
      termsUrl: 'https://contoso.example/terms-of-use',
      developerName: 'Contoso IT (32 characters long.)',
    });
    const filled = fillManifest(template, own, manifestCommandList());
    assert.deepEqual(filled['developer'], {
      name: 'Contoso IT (32 characters long.)',
      websiteUrl: 'https://contoso.example/teams-groups',
      privacyUrl: 'https://contoso.example/privacy',
      termsOfUseUrl: 'https://contoso.example/terms-of-use',
    });
    assert.deepEqual(await validateManifest(filled), []);
  });

  it('refuses a developer name over 32 characters and a developer link that is not http(s)', function () {
    const base = { botId: BOT_ID, appId: APP_ID, publicUrl: 'https://x.example', version: '1.0.0' };
    assert.throws(() => placeholderValues({ ...base, developerName: 'x'.repeat(33) }), /DEVELOPER_NAME/);
    assert.throws(() => placeholderValues({ ...base, privacyUrl: 'javascript:alert(1)' }), /PRIVACY_URL/);
  });

  it('refuses bad placeholder values and unknown placeholders', function () {
    assert.throws(
      () => placeholderValues({ botId: 'nope', appId: APP_ID, publicUrl: 'https://x.example', version: '1.0.0' }),
      AppPackageError,
    );
    assert.throws(
      () => placeholderValues({ botId: BOT_ID, appId: APP_ID, publicUrl: 'ftp://x.example', version: '1.0.0' }),
      AppPackageError,
    );
    assert.throws(() => fillManifest({ a: '${{NOPE}}' }, values), /unknown placeholder/);
    // A value is substituted inside a string, so it cannot inject JSON.
    const filled = fillManifest({ a: 'x-${{PUBLIC_URL}}' }, { ...values, PUBLIC_URL: '","evil":"1' });
    assert.deepEqual(Object.keys(filled), ['a']);
  });
});
