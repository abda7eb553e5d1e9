/**
 * Draws the Teams app icons from the SVGs below and writes them to appPackage/:
 *   color.png    192x192, full colour (the group bubble on the accent colour)
 *   outline.png   32x32, white on a transparent background (Teams tints it)
 *
 *   node --import tsx scripts/make-icons.ts [outDir]
 *
 * The PNGs are committed; run this again only when the drawing changes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** Keep in step with `accentColor` in appPackage/manifest.json. */
export const ACCENT = '#3A5BC7';

/** A chat bubble holding three people: a group that talks. Drawn on a 192 grid, symbol inside the 120px safe area. */
export function colorIconSvg(): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="192" height="192" viewBox="0 0 192 192">
  <rect width="192" height="192" fill="${ACCENT}"/>
  <path d="M52 42h88a16 16 0 0 1 16 16v56a16 16 0 0 1-16 16H86l-28 22v-22h-6a16 16 0 0 1-16-16V58a16 16 0 0 1 16-16z" fill="#FFFFFF"/>
  <g fill="${ACCENT}">
    <circle cx="96" cy="72" r="12"/>
    <path d="M74 112a22 20 0 0 1 44 0z"/>
    <circle cx="66" cy="80" r="9" opacity="0.75"/>
    <path d="M50 112a16 15 0 0 1 32 0z" opacity="0.75"/>
    <circle cx="126" cy="80" r="9" opacity="0.75"/>
    <path d="M110 112a16 15 0 0 1 32 0z" opacity="0.75"/>
  </g>
</svg>`;
}

/** The same motif for the 32px outline icon: a white bubble outline with three white people, no fill behind. */
export function outlineIconSvg(): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">
  <path d="M6 4.5h20a3.5 3.5 0 0 1 3.5 3.5v12a3.5 3.5 0 0 1-3.5 3.5H14l-6 5v-5H6A3.5 3.5 0 0 1 2.5 20V8A3.5 3.5 0 0 1 6 4.5z"
        fill="none" stroke="#FFFFFF" stroke-width="2" stroke-linejoin="round"/>
  <g fill="#FFFFFF">
    <circle cx="16" cy="10.5" r="2.5"/>
    <path d="M11.5 19.5a4.5 4.2 0 0 1 9 0z"/>
    <circle cx="9.5" cy="12" r="1.8"/>
    <path d="M6.5 19.5a3 3 0 0 1 6 0z"/>
    <circle cx="22.5" cy="12" r="1.8"/>
    <path d="M19.5 19.5a3 3 0 0 1 6 0z"/>
  </g>
</svg>`;
}

export async function renderColorIcon(): Promise<Buffer> {
  return sharp(Buffer.from(colorIconSvg())).resize(192, 192).flatten({ background: ACCENT }).png().toBuffer();
}

export async function renderOutlineIcon(): Promise<Buffer> {
  // Every pixel is white; only alpha carries the shape (the antialiased edges too), as Teams expects.
  const { data, info } = await sharp(Buffer.from(outlineIconSvg()))
    .resize(32, 32)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i += info.channels) {
    data[i] = 255;
    data[i + 1] = 255;
    data[i + 2] = 255;
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toBuffer();
}

export async function writeIcons(outDir: string): Promise<{ color: string; outline: string }> {
  await mkdir(outDir, { recursive: true });
  const color = path.join(outDir, 'color.png');
  const outline = path.join(outDir, 'outline.png');
  await writeFile(color, await renderColorIcon());
  await writeFile(outline, await renderOutlineIcon());
  return { color, outline };
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'appPackage'));
  writeIcons(outDir).then(
    (files) => console.log(`wrote ${files.color} and ${files.outline}`),
    (err: unknown) => {
      console.error(`make-icons: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
