/**
 * The pure parts of packaging the Teams app (scripts/package-app.ts runs them; tests call them directly):
 * fill the manifest template's `${{NAME}}` placeholders, validate the result offline against the schema that
 * @microsoft/app-manifest bundles, check the icons and zip manifest.json + color.png + outline.png.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppManifestUtils } from '@microsoft/app-manifest';
import JSZip from 'jszip';

export const PLACEHOLDERS = [
  'BOT_ID',
  'APP_ID',
  'PUBLIC_HOSTNAME',
  'PUBLIC_URL',
  'APP_VERSION',
  'WEBSITE_URL',
  'PRIVACY_URL',
  'TERMS_URL',
  'DEVELOPER_NAME',
] as const;
export type PlaceholderName = (typeof PLACEHOLDERS)[number];
export type PlaceholderValues = Record<PlaceholderName, string>;

/** Used by `--dev` packages when no ids are configured: a valid GUID that is obviously not a real one. */
export const DEV_PLACEHOLDER_GUID = '00000000-0000-4000-8000-000000000000';

/** The oldest Teams schema this package may use (1.18 is not bundled, so it cannot be validated offline). */
export const MIN_MANIFEST_VERSION = '1.19';

export type BotScope = 'personal' | 'groupChat' | 'team';
export interface ManifestCommand {
  readonly title: string;
  readonly description?: string;
}
export interface ManifestCommandListEntry {
  readonly scopes: readonly BotScope[];
  readonly commands: readonly ManifestCommand[];
}

export type JsonObject = { [key: string]: unknown };

export const APP_PACKAGE_DIR = path.join(__dirname, '..', 'appPackage');
export const ICON_SIZES = { 'color.png': 192, 'outline.png': 32 } as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLACEHOLDER = /\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

export class AppPackageError extends Error {
  override name = 'AppPackageError';
}

export interface PlaceholderInput {
  botId: string;
  appId: string;
  /** Base URL users reach the server at (the tab lives at `${publicUrl}/tab`). */
  publicUrl: string;
  version: string;
  /** The manifest's developer links; default: the home, privacy and terms pages the bot serves itself. */
  websiteUrl?: string;
  privacyUrl?: string;
  termsUrl?: string;
  /** The manifest's `developer.name` (32 characters at most). */
  developerName?: string;
}

/** The developer name when DEVELOPER_NAME is not set. */
export const DEFAULT_DEVELOPER_NAME = 'Kaizala Groups for Teams';

/** Derives every placeholder value, checking each one (GUIDs, an absolute http(s) URL). */
export function placeholderValues(input: PlaceholderInput): PlaceholderValues {
  for (const [key, value] of [
    ['BOT_ID', input.botId],
    ['APP_ID', input.appId],
  ] as const) {
    if (!GUID.test(value)) throw new AppPackageError(`${key} must be a GUID (got "${value}")`);
  }
  let url: URL;
  try {
    url = new URL(input.publicUrl);
  } catch {
    throw new AppPackageError(`PUBLIC_URL must be an absolute URL (got "${input.publicUrl}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppPackageError(`PUBLIC_URL must be an http(s) URL (got "${input.publicUrl}")`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new AppPackageError('PUBLIC_URL must not carry a query, fragment or credentials');
  }
  const publicUrl = url.href.replace(/\/+$/, '');
  const developerName = (input.developerName ?? DEFAULT_DEVELOPER_NAME).trim();
  if (developerName === '' || developerName.length > 32)
    throw new AppPackageError(`DEVELOPER_NAME must be 1 to 32 characters (got "${developerName}")`);
  return {
    BOT_ID: input.botId.toLowerCase(),
    APP_ID: input.appId.toLowerCase(),
    PUBLIC_HOSTNAME: url.hostname,
    PUBLIC_URL: publicUrl,
    APP_VERSION: input.version,
    WEBSITE_URL: httpUrl('WEBSITE_URL', input.websiteUrl ?? `${publicUrl}/`),
    PRIVACY_URL: httpUrl('PRIVACY_URL', input.privacyUrl ?? `${publicUrl}/privacy`),
    TERMS_URL: httpUrl('TERMS_URL', input.termsUrl ?? `${publicUrl}/terms`),
    DEVELOPER_NAME: developerName,
  };
}

function httpUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppPackageError(`${key} must be an absolute URL (got "${value}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppPackageError(`${key} must be an http(s) URL (got "${value}")`);
  return url.href;
}

/**
 * Returns a copy of the template with every `${{NAME}}` inside string values replaced, and the bot's
 * `commandLists` set when given. Values are substituted into parsed strings, never into JSON text, so a value
 * cannot break out of its string. An unknown or unfilled placeholder is an error, not a silent leftover.
 */
export function fillManifest(
  template: JsonObject,
  values: PlaceholderValues,
  commandLists?: readonly ManifestCommandListEntry[],
): JsonObject {
  const known = new Set<string>(PLACEHOLDERS);
  const walk = (node: unknown, where: string): unknown => {
    if (typeof node === 'string') {
      return node.replace(PLACEHOLDER, (_m, name: string) => {
        if (!known.has(name)) throw new AppPackageError(`unknown placeholder \${{${name}}} at ${where}`);
        const value = values[name as PlaceholderName];
        if (!value) throw new AppPackageError(`no value for \${{${name}}} at ${where}`);
        return value;
      });
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${where}/${i}`));
    if (node !== null && typeof node === 'object') {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, `${where}/${k}`);
      return out;
    }
    return node;
  };
  const filled = walk(template, '') as JsonObject;
  if (commandLists) {
    const bots = filled['bots'];
    if (!Array.isArray(bots) || bots.length === 0) throw new AppPackageError('the manifest template has no bots entry');
    (bots[0] as JsonObject)['commandLists'] = commandLists.map((list) => ({
      scopes: [...list.scopes],
      commands: list.commands.map((c) => ({ title: c.title, ...(c.description ? { description: c.description } : {}) })),
    }));
  }
  return filled;
}

export async function readManifestTemplate(file = path.join(APP_PACKAGE_DIR, 'manifest.json')): Promise<JsonObject> {
  return JSON.parse(await readFile(file, 'utf8')) as JsonObject;
}

/** `"1.30"` from a manifest's `manifestVersion`; compares numerically (1.9 < 1.19). */
export function compareManifestVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const SCHEMA_URL =
  /^https:\/\/developer\.microsoft\.com\/(?:en-us\/)?json-schemas\/teams\/(v[0-9.]+|vDevPreview)\/MicrosoftTeams\.schema\.json$/;

/** The Teams schemas @microsoft/app-manifest ships, e.g. `v1.30/MicrosoftTeams.schema.json`. */
function bundledSchemaFile(version: string): string {
  const pkgDir = path.dirname(require.resolve('@microsoft/app-manifest/package.json'));
  return path.join(pkgDir, 'build', 'json-schemas', 'teams', version, 'MicrosoftTeams.schema.json');
}

/**
 * Validates a filled manifest against its `$schema`, offline: the schema is read from the copy bundled in
 * @microsoft/app-manifest and handed to `AppManifestUtils.validateAgainstSchema`, which then never fetches.
 * Returns the errors (empty = valid). A `$schema` that is not bundled is itself an error.
 */
export async function validateManifest(manifest: JsonObject): Promise<string[]> {
  const schemaUrl = manifest['$schema'];
  const match = typeof schemaUrl === 'string' ? SCHEMA_URL.exec(schemaUrl) : null;
  if (!match) return [`$schema must be a Teams schema URL on developer.microsoft.com (got ${JSON.stringify(schemaUrl)})`];
  let schemaText: string;
  try {
    schemaText = await readFile(bundledSchemaFile(match[1]!), 'utf8');
  } catch {
    return [`$schema ${match[1]} is not bundled with @microsoft/app-manifest, so it cannot be validated offline`];
  }
  // The same clean-up the library applies to the files it loads itself.
  const schema = JSON.parse(schemaText.replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as JsonObject;
  const errors = await AppManifestUtils.validateAgainstSchema(
    manifest as unknown as Parameters<typeof AppManifestUtils.validateAgainstSchema>[0],
    schema as unknown as Parameters<typeof AppManifestUtils.validateAgainstSchema>[1],
  );
  const version = manifest['manifestVersion'];
  if (typeof version === 'string' && compareManifestVersions(version, MIN_MANIFEST_VERSION) < 0) {
    errors.push(`/manifestVersion ${version} is older than ${MIN_MANIFEST_VERSION}`);
  }
  return errors;
}

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** An alpha channel, or a palette/colour-key transparency chunk (tRNS). */
  hasAlpha: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads the IHDR (and looks for tRNS) without decoding the image. Throws if it is not a PNG. */
export function readPngInfo(png: Buffer): PngInfo {
  if (png.length < 33 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw new AppPackageError('not a PNG file');
  }
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const bitDepth = png[24]!;
  const colorType = png[25]!;
  let hasTrns = false;
  for (let off = 8; off + 8 <= png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    if (type === 'tRNS') hasTrns = true;
    if (type === 'IDAT' || type === 'IEND') break;
    off += 12 + len;
  }
  return { width, height, bitDepth, colorType, hasAlpha: colorType === 4 || colorType === 6 || hasTrns };
}

export interface AppPackageFiles {
  manifest: JsonObject;
  colorPng: Buffer;
  outlinePng: Buffer;
}

/** Checks the icons Teams requires: color 192x192, outline 32x32 with transparency. Returns problems. */
export function checkIcons(files: Pick<AppPackageFiles, 'colorPng' | 'outlinePng'>): string[] {
  const problems: string[] = [];
  for (const [name, buf] of [
    ['color.png', files.colorPng],
    ['outline.png', files.outlinePng],
  ] as const) {
    const size = ICON_SIZES[name];
    try {
      const info = readPngInfo(buf);
      if (info.width !== size || info.height !== size) {
        problems.push(`${name} is ${info.width}x${info.height}, must be ${size}x${size}`);
      }
      if (name === 'outline.png' && !info.hasAlpha) problems.push('outline.png must have a transparent background');
    } catch {
      problems.push(`${name} is not a PNG file`);
    }
  }
  return problems;
}

/** The Teams app package: manifest.json, color.png and outline.png at the root of a zip. */
export async function zipAppPackage(files: AppPackageFiles): Promise<Buffer> {
  const zip = new JSZip();
  // A fixed date keeps the zip byte-identical for the same inputs.
  const date = new Date('2020-01-01T00:00:00Z');
  zip.file('manifest.json', JSON.stringify(files.manifest, null, 2) + '\n', { date });
  zip.file('color.png', files.colorPng, { date });
  zip.file('outline.png', files.outlinePng, { date });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
}

export interface BuildAppPackageInput {
  values: PlaceholderValues;
  commandLists: readonly ManifestCommandListEntry[];
  /** Where manifest.json, color.png and outline.png are read from (default appPackage/). */
  dir?: string;
}

export interface BuiltAppPackage {
  manifest: JsonObject;
  zip: Buffer;
}

/** Fill, validate, check icons, zip. Throws an AppPackageError listing every problem found. */
export async function buildAppPackage(input: BuildAppPackageInput): Promise<BuiltAppPackage> {
  const dir = input.dir ?? APP_PACKAGE_DIR;
  const template = await readManifestTemplate(path.join(dir, 'manifest.json'));
  const manifest = fillManifest(template, input.values, input.commandLists);
  const colorPng = await readFile(path.join(dir, 'color.png'));
  const outlinePng = await readFile(path.join(dir, 'outline.png'));
  const problems = [...(await validateManifest(manifest)), ...checkIcons({ colorPng, outlinePng })];
  if (problems.length > 0) {
    throw new AppPackageError(`the app package is not valid:\n  ${problems.join('\n  ')}`);
  }
  return { manifest, zip: await zipAppPackage({ manifest, colorPng, outlinePng }) };
}
