/**
 * Turns a fetched group photo into the small copy we store and show: 192x192 (cover), metadata stripped
 * (EXIF, GPS, ICC are dropped; orientation is applied first), under 48 KiB. JPEG for opaque images, PNG when
 * the image has transparency.
 */
import sharp from 'sharp';
import { InvalidInputError } from '../errors';

export const THUMBNAIL_SIZE = 192;
export const MAX_THUMBNAIL_BYTES = 48 * 1024;
/** Refuse decompression bombs: a 1 MiB file may claim a huge canvas. 40 megapixels is a big phone photo. */
export const MAX_INPUT_PIXELS = 40_000_000;

const INPUT_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);

export interface Thumbnail {
  bytes: Buffer;
  contentType: 'image/jpeg' | 'image/png';
  width: number;
  height: number;
}

export interface ThumbnailOptions {
  size?: number;
  maxBytes?: number;
}

export async function makeThumbnail(input: Buffer, options: ThumbnailOptions = {}): Promise<Thumbnail> {
  const size = options.size ?? THUMBNAIL_SIZE;
  const maxBytes = options.maxBytes ?? MAX_THUMBNAIL_BYTES;
  const open = () => sharp(input, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', animated: false });

  let hasAlpha: boolean;
  try {
    const meta = await open().metadata();
    if (!meta.format || !INPUT_FORMATS.has(meta.format)) throw new Error(`format ${meta.format ?? 'unknown'}`);
    hasAlpha = meta.hasAlpha === true;
  } catch (err) {
    throw new InvalidInputError('That file is not an image the bot can read.', { cause: err });
  }

  // .rotate() with no angle applies the EXIF orientation; the output carries no metadata unless asked for.
  const base = () => open().rotate().resize(size, size, { fit: 'cover', position: 'centre' });
  try {
    if (hasAlpha) {
      for (const colours of [256, 64]) {
        const bytes = await base().png({ palette: true, colours, compressionLevel: 9, effort: 10 }).toBuffer();
        if (bytes.length < maxBytes) return { bytes, contentType: 'image/png', width: size, height: size };
      }
    }
    for (const quality of [82, 70, 55, 40]) {
      const bytes = await base().flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: true }).toBuffer();
      if (bytes.length < maxBytes) return { bytes, contentType: 'image/jpeg', width: size, height: size };
    }
  } catch (err) {
    throw new InvalidInputError('That file is not an image the bot can read.', { cause: err });
  }
  throw new InvalidInputError('That photo could not be made small enough.');
}
