import type { Attachment, TurnContext } from 'botbuilder';
import { InvalidInputError } from '../errors';
import { fetchAttachmentImage, HttpsPhotoSource, imageRefFromAttachments, type PhotoFetchOptions } from './photoFetcher';
import { makeThumbnail } from './imageResize';

export interface GroupPhoto {
  bytes: Buffer;
  contentType: string;
}

/**
 * The group photo from what the user gave: a link or an attached picture, fetched under the same SSRF rules,
 * then shrunk to a small copy (the original is never kept).
 */
export class GroupPhotoIntake {
  private readonly source: HttpsPhotoSource;

  constructor(private readonly fetchOptions: PhotoFetchOptions = {}) {
    this.source = new HttpsPhotoSource(fetchOptions);
  }

  async fromUrl(url: string): Promise<GroupPhoto> {
    const image = await this.source.fromUrl(url);
    return this.thumbnail(image.bytes);
  }

  async fromAttachment(attachment: Attachment, context: TurnContext): Promise<GroupPhoto> {
    const ref = imageRefFromAttachments([attachment]);
    if (!ref) throw new InvalidInputError('That attachment is not a picture. Attach a PNG, JPEG, GIF or WebP image.');
    const token = ref.needsBotToken ? await botToken(context) : undefined;
    const image = await fetchAttachmentImage(ref.url, token, this.fetchOptions);
    return this.thumbnail(image.bytes);
  }

  private async thumbnail(bytes: Buffer): Promise<GroupPhoto> {
    const small = await makeThumbnail(bytes);
    return { bytes: small.bytes, contentType: small.contentType };
  }
}

/** The bot's own connector token, for inline images hosted by the Bot Framework; none in a local run. */
async function botToken(context: TurnContext): Promise<string | undefined> {
  const adapter = context.adapter as { ConnectorClientKey?: symbol };
  const client = adapter.ConnectorClientKey ? context.turnState.get(adapter.ConnectorClientKey) : undefined;
  const credentials = (client as { credentials?: { getToken?: () => Promise<string> } } | undefined)?.credentials;
  return credentials?.getToken ? (await credentials.getToken()) || undefined : undefined;
}
