/**
 * The invite link as a small QR code PNG. Async (qrcode renders PNGs through a stream), so the caller makes
 * it and hands the data URL to `buildInviteCard`, which stays a pure, synchronous builder. The poster and
 * email templates can use `inviteQrPng` for the same image.
 */
import QRCode from 'qrcode';

/** Above this the invite card leaves the QR code out rather than risk Teams' 28 KB limit. */
export const MAX_QR_DATA_URL_CHARS = 8 * 1024;
export const QR_DATA_URL_PREFIX = 'data:image/png;base64,';

const QR_OPTIONS = {
  errorCorrectionLevel: 'M',
  margin: 2, // the quiet zone scanners need
  scale: 4, // about 150 px for a 60-character link: readable from a phone screen, about 1 KB
  color: { dark: '#000000', light: '#ffffff' },
} as const;

export async function inviteQrPng(link: string): Promise<Buffer> {
  return QRCode.toBuffer(link, { ...QR_OPTIONS, type: 'png' });
}

/** `data:image/png;base64,...` for an Adaptive Card Image. */
export async function inviteQrDataUrl(link: string): Promise<string> {
  return `${QR_DATA_URL_PREFIX}${(await inviteQrPng(link)).toString('base64')}`;
}
