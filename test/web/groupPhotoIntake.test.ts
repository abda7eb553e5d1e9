import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Attachment, TurnContext } from 'botbuilder';
import { generate } from 'selfsigned';
import sharp from 'sharp';
import { isAppError } from '../../src/errors';
import { GroupPhotoIntake, decodeImageDataUrl, type GroupPhotoIntakeOptions } from '../../src/web/groupPhotoIntake';
import {
  PhotoFetchError,
  TEAMS_FILE_DOWNLOAD_INFO,
  type PhotoFetchErrorReason,
  type PhotoFetchOptions,
  type ResolvedAddress,
} from '../../src/web/photoFetcher';

/** Who asked a test server for what. */
interface Seen {
  path: string;
  authorization?: string;
}

/** A test server that answers by path; `routes` get the response to write (no chaining on writeHead: restify patches it). */
async function startServer(
  routes: Record<string, (res: ServerResponse) => void>,
  tls?: { key: string; cert: string },
): Promise<{ port: number; origin: string; seen: Seen[]; stop(): Promise<void> }> {
  const seen: Seen[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ path: req.url ?? '/', authorization: req.headers.authorization });
    const route = routes[req.url ?? '/'];
    if (route) route(res);
    else {
      res.writeHead(404);
      res.end();
    }
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The parts of a TurnContext the intake reads: the activity's serviceUrl and, optionally, the bot's connector token. */
function contextFor(serviceUrl: string | undefined, botToken?: string): TurnContext {
  const key = Symbol('ConnectorClient');
  const turnState = new Map<unknown, unknown>();
  if (botToken) turnState.set(key, { credentials: { getToken: async () => botToken } });
  return { activity: { serviceUrl }, adapter: { ConnectorClientKey: key }, turnState } as unknown as TurnContext;
}

async function refused(promise: Promise<unknown>, expected: PhotoFetchErrorReason | RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isAppError(err), `expected a friendly error, got ${String(err)}`);
    if (expected instanceof RegExp) assert.match(err.userMessage, expected);
    else {
      assert.ok(err instanceof PhotoFetchError, `expected a PhotoFetchError, got ${err.constructor.name}: ${err.userMessage}`);
      assert.equal(err.reason, expected, `${err.reason}: ${err.detail}`);
    }
    return;
  }
  assert.fail('expected the photo to be refused');
}

const image = (contentUrl: string, contentType = 'image/png'): Attachment => ({ contentType, contentUrl, name: 'photo.png' });

describe('GroupPhotoIntake: attached pictures', function () {
  this.timeout(30_000);
  let png: Buffer;
  let jpeg: Buffer;

  before(async () => {
    png = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 20, g: 120, b: 90 } } })
      .png()
      .toBuffer();
    jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 10, b: 10 } } })
      .jpeg()
      .toBuffer();
  });

  /** Fails the test if anything tries the network: every fetch needs `resolve` or an address check first. */
  const noNetwork: PhotoFetchOptions = {
    resolve: () => assert.fail('no DNS lookup expected'),
    addressPolicy: () => assert.fail('no connection expected'),
  };

  describe('inline data: URLs', () => {
    it('decodes a PNG and a JPEG without any network and makes the small copy', async () => {
      const intake = new GroupPhotoIntake(noNetwork);
      for (const [bytes, type] of [
        [png, 'image/png'],
        [jpeg, 'image/jpeg'],
      ] as const) {
        const photo = await intake.fromAttachment(image(`data:${type};base64,${bytes.toString('base64')}`, type), contextFor(undefined));
        const meta = await sharp(photo.bytes).metadata();
        assert.equal(meta.width, 192);
        assert.equal(meta.height, 192);
        assert.match(photo.contentType, /^image\/(png|jpeg)$/);
      }
    });

    it('accepts parameters before ;base64 and line breaks in the data (as some clients wrap it)', () => {
      const wrapped = png.toString('base64').replace(/(.{76})/g, '$1\r\n');
      const decoded = decodeImageDataUrl(`data:image/png;name=photo.png;base64,${wrapped}`);
      assert.deepEqual(decoded.bytes, png);
      assert.equal(decoded.contentType, 'image/png');
    });

    it('goes by the magic bytes, not the declared type', () => {
      assert.equal(decodeImageDataUrl(`data:image/gif;base64,${jpeg.toString('base64')}`).contentType, 'image/jpeg');
    });

    it('refuses a picture over 1 MiB before decoding it, and just over the limit after', async () => {
      const intake = new GroupPhotoIntake(noNetwork);
      const huge = Buffer.concat([png.subarray(0, 16), Buffer.alloc(2 * 1024 * 1024)]);
      await refused(
        intake.fromAttachment(image(`data:image/png;base64,${huge.toString('base64')}`), contextFor(undefined)),
        /too large.*1 MB/,
      );
      const justOver = Buffer.concat([png.subarray(0, 16), Buffer.alloc(1024 * 1024 - 15)]);
      assert.throws(() => decodeImageDataUrl(`data:image/png;base64,${justOver.toString('base64')}`), /too large/);
      const atLimit = Buffer.concat([png.subarray(0, 16), Buffer.alloc(1024 * 1024 - 16)]);
      assert.equal(decodeImageDataUrl(`data:image/png;base64,${atLimit.toString('base64')}`).bytes.length, 1024 * 1024);
    });

    for (const [label, url] of [
      ['HTML declared as a PNG', `data:image/png;base64,${Buffer.from('<html><script>alert(1)</script></html>').toString('base64')}`],
      [
        'an SVG (scripts, external references)',
        `data:image/svg+xml;base64,${Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64')}`,
      ],
      ['text/html', `data:text/html;base64,${Buffer.from('<b>hi</b>').toString('base64')}`],
      ['a data URL that is not base64', `data:image/png,${'%89PNG'}`],
      ['broken base64', 'data:image/png;base64,iVBORw0K*GgoAAAA'],
      ['an empty picture', 'data:image/png;base64,'],
    ] as const) {
      it(`refuses ${label} with a friendly message`, async () => {
        await refused(new GroupPhotoIntake(noNetwork).fromAttachment(image(url), contextFor(undefined)), /not a PNG, JPEG, GIF or WebP/);
      });
    }
  });

  describe("hosted by the channel on the activity's own serviceUrl origin", () => {
    let channel: Awaited<ReturnType<typeof startServer>>;
    let elsewhere: Awaited<ReturnType<typeof startServer>>;
    const local: GroupPhotoIntakeOptions = { allowChannelHostedAttachments: true };

    before(async () => {
      elsewhere = await startServer({
        '/a.png': (res) => {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end(png);
        },
      });
      channel = await startServer({
        '/attachments/a1/views/original': (res) => {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
          res.end(png);
        },
        '/attachments/page': (res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>sign in</html>');
        },
        '/attachments/lying.png': (res) => {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end('not a picture at all');
        },
        '/attachments/huge.png': (res) => {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.write(png.subarray(0, 16));
          res.end(Buffer.alloc(1024 * 1024 + 1));
        },
        '/attachments/moved': (res) => {
          res.writeHead(302, { location: '/attachments/a1/views/original' });
          res.end();
        },
        '/attachments/away': (res) => {
          res.writeHead(302, { location: `${elsewhere.origin}/a.png` });
          res.end();
        },
      });
    });
    after(async () => {
      await channel.stop();
      await elsewhere.stop();
    });
    beforeEach(() => {
      channel.seen.length = 0;
      elsewhere.seen.length = 0;
    });

    const service = () => `${channel.origin}/_connector`;

    it('fetches an image from the channel (http, loopback) in local mode, without a token when there is none', async () => {
      const photo = await new GroupPhotoIntake({}, local).fromAttachment(
        image(`${channel.origin}/attachments/a1/views/original`),
        contextFor(service()),
      );
      assert.equal((await sharp(photo.bytes).metadata()).width, 192);
      assert.deepEqual(channel.seen, [{ path: '/attachments/a1/views/original', authorization: undefined }]);
    });

    it('treats a Teams file card whose downloadUrl is on the channel the same way, and never sends it the bot token', async () => {
      const file: Attachment = {
        contentType: TEAMS_FILE_DOWNLOAD_INFO,
        name: 'team.png',
        content: { downloadUrl: `${channel.origin}/attachments/a1/views/original`, fileType: 'png' },
      };
      await new GroupPhotoIntake({}, local).fromAttachment(file, contextFor(service(), 'bot-token'));
      assert.equal(channel.seen[0]?.authorization, undefined);
    });

    it('refuses the same attachment when the bot runs with channel authentication (the default), without a request', async () => {
      await refused(
        new GroupPhotoIntake().fromAttachment(image(`${channel.origin}/attachments/a1/views/original`), contextFor(service())),
        'bad_url',
      );
      assert.equal(channel.seen.length, 0);
    });

    it('refuses another origin than the serviceUrl (another port, another host, or no serviceUrl), without a request', async () => {
      const intake = new GroupPhotoIntake({}, local);
      await refused(intake.fromAttachment(image(`${elsewhere.origin}/a.png`), contextFor(service())), 'bad_url');
      await refused(
        intake.fromAttachment(image(`http://localhost:${channel.port}/attachments/a1/views/original`), contextFor(service())),
        'bad_url',
      );
      await refused(intake.fromAttachment(image(`${channel.origin}/attachments/a1/views/original`), contextFor(undefined)), 'bad_url');
      assert.equal(channel.seen.length + elsewhere.seen.length, 0);
    });

    it('in local mode still refuses a channel host at a private or link-local address (e.g. cloud metadata)', async () => {
      const resolve = async (): Promise<ResolvedAddress[]> => [{ address: '169.254.169.254', family: 4 }];
      const intake = new GroupPhotoIntake({ resolve }, local);
      await refused(
        intake.fromAttachment(image('http://metadata.test/latest/meta-data'), contextFor('http://metadata.test/')),
        'blocked_address',
      );
      const direct = new GroupPhotoIntake({}, local);
      await refused(direct.fromAttachment(image('http://10.1.2.3:8080/a.png'), contextFor('http://10.1.2.3:8080/')), 'blocked_address');
    });

    it('refuses what is not a picture: an HTML page, or bytes that only claim to be a PNG', async () => {
      const intake = new GroupPhotoIntake({}, local);
      await refused(intake.fromAttachment(image(`${channel.origin}/attachments/page`), contextFor(service())), 'not_image');
      await refused(intake.fromAttachment(image(`${channel.origin}/attachments/lying.png`), contextFor(service())), 'not_image');
    });

    it('cuts a picture over 1 MiB', async () => {
      await refused(
        new GroupPhotoIntake({}, local).fromAttachment(image(`${channel.origin}/attachments/huge.png`), contextFor(service())),
        'too_large',
      );
    });

    it('follows a redirect within the channel, and one that leaves it only under the public-https rules', async () => {
      const intake = new GroupPhotoIntake({}, local);
      await intake.fromAttachment(image(`${channel.origin}/attachments/moved`), contextFor(service()));
      assert.deepEqual(
        channel.seen.map((s) => s.path),
        ['/attachments/moved', '/attachments/a1/views/original'],
      );
      await refused(intake.fromAttachment(image(`${channel.origin}/attachments/away`), contextFor(service(), 'bot-token')), 'bad_url');
      assert.equal(elsewhere.seen.length, 0, 'the http, loopback target of the redirect was not fetched');
    });
  });

  describe('a trusted (allow-listed) channel host with channel authentication on', () => {
    let ca: string;
    let channel: Awaited<ReturnType<typeof startServer>>;

    before(async () => {
      const caPems = await generate([{ name: 'commonName', value: 'Intake test CA' }], {
        keySize: 2048,
        algorithm: 'sha256',
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
      });
      const leaf = await generate([{ name: 'commonName', value: 'channel.test' }], {
        keySize: 2048,
        algorithm: 'sha256',
        ca: { key: caPems.private, cert: caPems.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: [{ type: 2, value: 'channel.test' }] },
        ],
      });
      ca = caPems.cert;
      channel = await startServer(
        {
          '/v3/attachments/x/views/original': (res) => {
            res.writeHead(200, { 'content-type': 'image/png' });
            res.end(png);
          },
        },
        { key: leaf.private, cert: leaf.cert },
      );
    });
    after(async () => {
      await channel.stop();
    });

    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: '127.0.0.1', family: 4 }];

    it('fetches over https from the allow-listed serviceUrl host, with the bot token, whatever its address', async () => {
      const intake = new GroupPhotoIntake({ resolve, ca }, { trustedServiceUrlHosts: ['*.test'] });
      const base = `https://channel.test:${channel.port}`;
      await intake.fromAttachment(image(`${base}/v3/attachments/x/views/original`), contextFor(`${base}/amer/`, 'bot-token'));
      assert.equal(channel.seen.at(-1)?.authorization, 'Bearer bot-token');
    });

    it('does not relax anything for a host that is not allow-listed, or for http on an allow-listed host', async () => {
      const base = `https://channel.test:${channel.port}`;
      const before = channel.seen.length;
      const untrusted = new GroupPhotoIntake({ resolve, ca }, { trustedServiceUrlHosts: ['smba.trafficmanager.net'] });
      await refused(untrusted.fromAttachment(image(`${base}/v3/attachments/x/views/original`), contextFor(`${base}/`)), 'bad_url');
      const trusted = new GroupPhotoIntake({ resolve, ca }, { trustedServiceUrlHosts: ['channel.test'] });
      await refused(trusted.fromAttachment(image('http://channel.test/v3/attachments/x'), contextFor('http://channel.test/')), 'bad_url');
      assert.equal(channel.seen.length, before);
    });
  });
});
