import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Attachment, TurnContext } from 'botbuilder';
import { InvalidInputError } from '../errors';
import {
  DEFAULT_MAX_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_TIMEOUT_MS,
  fetchAttachmentImage,
  hostMatches,
  HttpsPhotoSource,
  imageRefFromAttachments,
  isPublicAddress,
  classifyAddress,
  PhotoFetchError,
  pinnedGet,
  readImageResponse,
  sniffImageType,
  systemResolve,
  type FetchedImage,
  type PhotoFetchOptions,
  type ResolvedAddress,
} from './photoFetcher';
import { makeThumbnail } from './imageResize';

export interface GroupPhoto {
  bytes: Buffer;
  contentType: string;
}

export interface GroupPhotoIntakeOptions {
  /**
   * Local mode only (no MicrosoftAppId, so no channel authentication, and the bot listens on loopback): an
   * attachment whose contentUrl has the same origin as the activity's serviceUrl (the channel's own attachment
   * store, e.g. the Agents Playground on http://localhost:56150) may be fetched even over http from a loopback
   * address. The channel already receives every reply of this conversation, so fetching from it reaches nothing
   * new. The address must still be loopback or public (never private, link-local such as 169.254.169.254, ...).
   */
  allowChannelHostedAttachments?: boolean;
  /**
   * Service URL hosts trusted as channels (ALLOWED_SERVICE_URL_HOSTS; a leading `*.` matches subdomains). With
   * channel authentication on, a same-origin attachment on such a host is fetched over https from whatever
   * address the host has (for example a Direct Line App Service extension inside the organization's network).
   */
  trustedServiceUrlHosts?: readonly string[];
}

/** The data: URLs an attachment may carry inline: a picture type we can read, base64 encoded. */
const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp))((?:;[a-z0-9_.+-]+=[a-z0-9_.+"-]*)*);base64,([a-z0-9+/=\s]*)$/i;

const ATTACHMENT_MESSAGES = {
  notImage: 'That attachment is not a PNG, JPEG, GIF or WebP image.',
  tooLarge: 'That picture is too large (at most 1 MB).',
} as const;

/**
 * The group photo from what the user gave: a link or an attached picture, fetched under the same SSRF rules,
 * then shrunk to a small copy (the original is never kept). Attachments come three ways:
 * - inline, as a `data:image/...;base64,` contentUrl (Web Chat, Direct Line, a playground's custom activity):
 *   decoded here, no network;
 * - hosted by the channel on the activity's own serviceUrl origin: fetched from that origin when the channel is
 *   trusted (see GroupPhotoIntakeOptions), with the bot's token when the image needs it;
 * - anywhere else (Teams files: a pre-authenticated downloadUrl on SharePoint): the public-https rules of
 *   photoFetcher.ts.
 */
export class GroupPhotoIntake {
  private readonly source: HttpsPhotoSource;
  private readonly maxBytes: number;

  constructor(
    private readonly fetchOptions: PhotoFetchOptions = {},
    private readonly options: GroupPhotoIntakeOptions = {},
  ) {
    this.source = new HttpsPhotoSource(fetchOptions);
    this.maxBytes = fetchOptions.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  async fromUrl(url: string): Promise<GroupPhoto> {
    const image = await this.source.fromUrl(url);
    return this.thumbnail(image.bytes);
  }

  async fromAttachment(attachment: Attachment, context: TurnContext): Promise<GroupPhoto> {
    if (typeof attachment.contentUrl === 'string' && /^\s*data:/i.test(attachment.contentUrl)) {
      return this.thumbnail(decodeImageDataUrl(attachment.contentUrl, this.maxBytes).bytes);
    }
    const ref = imageRefFromAttachments([attachment]);
    if (!ref) throw new InvalidInputError('That attachment is not a picture. Attach a PNG, JPEG, GIF or WebP image.');
    const channel = this.channelOrigin(ref.url, context.activity.serviceUrl);
    const token = ref.needsBotToken ? await botToken(context) : undefined;
    const image = channel
      ? await this.fetchFromChannel(ref.url, channel, token)
      : await fetchAttachmentImage(ref.url, token, this.fetchOptions);
    return this.thumbnail(image.bytes);
  }

  /**
   * The serviceUrl's origin when `url` is on it and the channel may be fetched from under the relaxed rule;
   * otherwise undefined (the strict rules apply).
   */
  private channelOrigin(url: string, serviceUrl: string | undefined): ChannelOrigin | undefined {
    if (!serviceUrl) return undefined;
    let target: URL;
    let service: URL;
    try {
      target = new URL(url);
      service = new URL(serviceUrl);
    } catch {
      return undefined;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return undefined;
    if (target.origin !== service.origin || target.username || target.password) return undefined;
    const host = service.hostname.replace(/^\[(.*)\]$/, '$1');
    if (
      this.options.trustedServiceUrlHosts?.length &&
      target.protocol === 'https:' &&
      hostMatches(host, this.options.trustedServiceUrlHosts)
    ) {
      return { origin: service.origin, addressCheck: () => true };
    }
    if (this.options.allowChannelHostedAttachments) {
      // Local mode: the playground or an emulator on this machine, or a public channel; nothing in between.
      const policy = this.fetchOptions.addressPolicy ?? isPublicAddress;
      return { origin: service.origin, addressCheck: (a) => classifyAddress(a) === 'loopback' || policy(a) };
    }
    return undefined;
  }

  /** GET from the channel's own origin: redirects within it are followed; one that leaves it gets the strict rules, without the token. */
  private async fetchFromChannel(url: string, channel: ChannelOrigin, token: string | undefined): Promise<FetchedImage> {
    const timeoutMs = this.fetchOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRedirects = this.fetchOptions.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const signal = AbortSignal.timeout(timeoutMs);
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const target = await this.resolveChannelHost(current, channel);
      let res: IncomingMessage;
      try {
        res = await pinnedGet(current, target, { bearerToken: token, signal, ca: this.fetchOptions.ca });
      } catch (err) {
        if (signal.aborted) throw new PhotoFetchError('timeout', `no answer within ${timeoutMs} ms`, { cause: err });
        throw err;
      }
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status)) {
        res.destroy();
        if (hop >= maxRedirects) throw new PhotoFetchError('too_many_redirects', `more than ${maxRedirects}`);
        const location = res.headers.location;
        if (!location) throw new PhotoFetchError('http_status', `${status} without Location`);
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw new PhotoFetchError('bad_url', 'redirect to an invalid URL');
        }
        if (next.origin !== channel.origin) return this.source.fromUrl(next.href);
        current = next;
        continue;
      }
      try {
        return await readImageResponse(res, this.maxBytes);
      } catch (err) {
        if (signal.aborted && err instanceof PhotoFetchError && err.reason === 'network') {
          throw new PhotoFetchError('timeout', `no answer within ${timeoutMs} ms`, { cause: err });
        }
        throw err;
      }
    }
  }

  private async resolveChannelHost(url: URL, channel: ChannelOrigin): Promise<ResolvedAddress> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const family = net.isIP(host);
    let addresses: ResolvedAddress[];
    if (family === 4 || family === 6) addresses = [{ address: host, family }];
    else {
      try {
        addresses = await (this.fetchOptions.resolve ?? systemResolve)(host);
      } catch (err) {
        throw new PhotoFetchError('dns', `cannot resolve ${host}`, { cause: err });
      }
      if (addresses.length === 0) throw new PhotoFetchError('dns', `no address for ${host}`);
    }
    const refused = addresses.find((a) => !channel.addressCheck(a.address));
    if (refused) throw new PhotoFetchError('blocked_address', `${host} -> ${refused.address} (${classifyAddress(refused.address)})`);
    return addresses[0]!;
  }

  private async thumbnail(bytes: Buffer): Promise<GroupPhoto> {
    const small = await makeThumbnail(bytes);
    return { bytes: small.bytes, contentType: small.contentType };
  }
}

interface ChannelOrigin {
  origin: string;
  addressCheck: (address: string) => boolean;
}

/**
 * An inline picture: `data:image/(png|jpeg|gif|webp)[;param=value]*;base64,<data>`. The size limit applies to
 * the decoded bytes (checked on the encoded length first, so a huge string is never decoded) and the bytes must
 * be an image by their magic numbers, whatever the declared type says.
 */
export function decodeImageDataUrl(dataUrl: string, maxBytes = DEFAULT_MAX_BYTES): FetchedImage {
  const match = DATA_URL.exec(dataUrl.trim());
  if (!match) throw new InvalidInputError(ATTACHMENT_MESSAGES.notImage);
  const encoded = match[3]!.replace(/\s+/g, '');
  if (Math.floor((encoded.length * 3) / 4) - 2 > maxBytes) throw new InvalidInputError(ATTACHMENT_MESSAGES.tooLarge);
  if (!/^[a-z0-9+/]*={0,2}$/i.test(encoded) || encoded.length % 4 === 1) throw new InvalidInputError(ATTACHMENT_MESSAGES.notImage);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length > maxBytes) throw new InvalidInputError(ATTACHMENT_MESSAGES.tooLarge);
  const contentType = sniffImageType(bytes);
  if (!contentType) throw new InvalidInputError(ATTACHMENT_MESSAGES.notImage);
  return { bytes, contentType };
}

/** The bot's own connector token, for inline images hosted by the Bot Framework; none in a local run. */
async function botToken(context: TurnContext): Promise<string | undefined> {
  const adapter = context.adapter as { ConnectorClientKey?: symbol };
  const client = adapter.ConnectorClientKey ? context.turnState.get(adapter.ConnectorClientKey) : undefined;
  const credentials = (client as { credentials?: { appId?: string; getToken?: () => Promise<string> } } | undefined)?.credentials;
  // Without an app id (a local run) there is no token to get: the SDK throws rather than answering empty.
  if (!credentials?.getToken || ('appId' in credentials && !credentials.appId)) return undefined;
  return (await credentials.getToken()) || undefined;
}
