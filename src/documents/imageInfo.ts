import { InvalidInputError } from '../errors';
import { sniffImageType } from '../imageType';

/** What the poster needs to place a photo: its real format and its size in pixels. */
export interface ImageInfo {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

/**
 * Reads the format and pixel size of a PNG or JPEG from its bytes (the declared content type is only a hint and
 * must agree). Refuses anything else, so that the poster never embeds bytes PowerPoint cannot show.
 */
export function readImageInfo(bytes: Buffer, contentType: string): ImageInfo {
  const declared = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const info = sniff(bytes);
  if (info === undefined) throw new InvalidInputError('The group photo must be a PNG or JPEG image.');
  const declaredFormat = declared === 'image/png' ? 'png' : declared === 'image/jpeg' || declared === 'image/jpg' ? 'jpeg' : undefined;
  if (declaredFormat !== info.format) {
    throw new InvalidInputError('The group photo is not the kind of image it claims to be.');
  }
  return info;
}

function sniff(bytes: Buffer): ImageInfo | undefined {
  const type = sniffImageType(bytes);
  if (type === 'image/png' && bytes.length >= 24 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return positive({ format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) });
  }
  if (type === 'image/jpeg' && bytes.length >= 4) return jpegSize(bytes);
  return undefined;
}

/** Walks the JPEG markers up to the first start-of-frame, which holds the size. */
function jpegSize(bytes: Buffer): ImageInfo | undefined {
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    const length = bytes.readUInt16BE(offset + 2);
    if (length < 2) return undefined;
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) {
      if (offset + 9 > bytes.length) return undefined;
      return positive({ format: 'jpeg', height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7) });
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // scan data or end before any frame header
    offset += 2 + length;
  }
  return undefined;
}

function positive(info: ImageInfo): ImageInfo | undefined {
  return info.width > 0 && info.height > 0 ? info : undefined;
}
