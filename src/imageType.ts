/**
 * The image types a group photo may be, told by their magic numbers (a declared Content-Type is never trusted).
 * The one place these numbers live: the photo fetcher, the domain's photo check and the poster all ask here.
 */
export type ImageContentType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87A = [0x47, 0x49, 0x46, 0x38, 0x37, 0x61];
const GIF89A = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61];
const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];

/** The image type of `bytes`, or undefined for anything else (HTML, SVG, text, a truncated header). */
export function sniffImageType(bytes: Uint8Array): ImageContentType | undefined {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((x, i) => bytes[at + i] === x);
  if (starts(PNG)) return 'image/png';
  if (starts(JPEG)) return 'image/jpeg';
  if (starts(GIF87A) || starts(GIF89A)) return 'image/gif';
  if (starts(RIFF) && starts(WEBP, 8)) return 'image/webp';
  return undefined;
}
