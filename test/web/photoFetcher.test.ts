import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import sharp from 'sharp';
import { makeThumbnail, MAX_THUMBNAIL_BYTES } from '../../src/web/imageResize';
import { classifyAddress, isPublicAddress } from '../../src/http/addressClass';
import { HttpsPhotoSource } from '../../src/http/httpsPhotoSource';
import type { ResolvedAddress } from '../../src/http/imageFetch';
import { TEAMS_FILE_DOWNLOAD_INFO, fetchAttachmentImage, hostMatches, imageRefFromAttachments } from '../../src/web/photoFetcher';
import { rejectsWith } from '../helpers/photoFetch';

describe('photo fetching', function () {
  describe('against a local https server', function () {
    let server: https.Server;
    let port: number;
    let ca: string;
    let connections = 0;
    const seen: Array<{ host: string | undefined; path: string | undefined; authorization: string | undefined }> = [];
    let goodPng: Buffer;

    const hosts: Record<string, string> = { 'img.test': '127.0.0.1', 'img2.test': '127.0.0.1', 'internal.test': '10.1.2.3' };
    const resolve = async (host: string): Promise<ResolvedAddress[]> => {
      const address = hosts[host];
      if (!address) throw new Error(`ENOTFOUND ${host}`);
      return [{ address, family: 4 }];
    };
    /** The test policy: what the default allows, plus loopback (where this server is). */
    const testPolicy = (address: string) => isPublicAddress(address) || classifyAddress(address) === 'loopback';
    const testSource = (extra: Partial<ConstructorParameters<typeof HttpsPhotoSource>[0]> = {}) =>
      new HttpsPhotoSource({ allowedPorts: [port], ca, resolve, addressPolicy: testPolicy, ...extra });
    const url = (path: string, host = 'img.test') => `https://${host}:${port}${path}`;

    before(async function () {
      this.timeout(30_000);
      const caPems = await generate([{ name: 'commonName', value: 'Photo test CA' }], {
        keySize: 2048,
        algorithm: 'sha256',
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
      });
      const leaf = await generate([{ name: 'commonName', value: 'img.test' }], {
        keySize: 2048,
        algorithm: 'sha256',
        ca: { key: caPems.private, cert: caPems.cert },
        extensions: [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'img.test' },
              { type: 2, value: 'img2.test' },
              { type: 2, value: 'localhost' },
              { type: 7, ip: '127.0.0.1' },
            ],
          },
        ],
      });
      ca = caPems.cert;
      goodPng = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 40, g: 90, b: 200 } } })
        .composite([{ input: Buffer.from('<svg width="640" height="480"><circle cx="320" cy="240" r="150" fill="#fc0"/></svg>') }])
        .png()
        .toBuffer();

      // No chaining on writeHead: restify (loaded by other test files) patches http.ServerResponse and its
      // writeHead does not return the response.
      server = https.createServer({ key: leaf.private, cert: leaf.cert }, (req: IncomingMessage, res: ServerResponse) => {
        seen.push({ host: req.headers.host, path: req.url, authorization: req.headers.authorization });
        const path = req.url ?? '/';
        if (path === '/good.png') {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': goodPng.length });
          res.end(goodPng);
        } else if (path === '/good-octet') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(goodPng);
        } else if (path === '/big-streamed.png') {
          // No Content-Length: the fetcher must count and cut the stream.
          res.writeHead(200, { 'content-type': 'image/png' });
          res.write(goodPng.subarray(0, 8));
          const chunk = Buffer.alloc(64 * 1024, 1);
          let sent = 0;
          const pump = () => {
            while (sent < 4 * 1024 * 1024) {
              sent += chunk.length;
              if (!res.write(chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          res.on('error', () => undefined);
          pump();
        } else if (path === '/big-declared.png') {
          res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(2 * 1024 * 1024) });
          res.write(goodPng.subarray(0, 8));
          // Never finishes: the fetcher must refuse on the header alone.
        } else if (path === '/page.html') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end('<!doctype html><title>not an image</title>');
        } else if (path === '/html-claiming-png') {
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end('<!doctype html><title>lying</title>');
        } else if (path === '/svg') {
          res.writeHead(200, { 'content-type': 'image/svg+xml' });
          res.end('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
        } else if (path === '/missing') {
          res.writeHead(404);
          res.end();
        } else if (path === '/redirect-private') {
          res.writeHead(302, { location: `https://internal.test:${port}/good.png` });
          res.end();
        } else if (path === '/redirect-mapped') {
          res.writeHead(302, { location: `https://[::ffff:7f00:1]:${port}/good.png` });
          res.end();
        } else if (path === '/redirect-http') {
          res.writeHead(301, { location: `http://img.test:${port}/good.png` });
          res.end();
        } else if (path === '/redirect-ok') {
          res.writeHead(307, { location: '/good.png' });
          res.end();
        } else if (path === '/redirect-other-host') {
          res.writeHead(302, { location: url('/good.png', 'img2.test') });
          res.end();
        } else if (path.startsWith('/hop/')) {
          const n = Number(path.slice(5));
          res.writeHead(302, { location: n <= 1 ? '/good.png' : `/hop/${n - 1}` });
          res.end();
        } else if (path === '/slow') {
          // Never answers.
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      server.on('connection', () => {
        connections++;
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });

    after(async function () {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    beforeEach(function () {
      connections = 0;
      seen.length = 0;
    });

    it('the default policy refuses the loopback server and never connects to it', async function () {
      const defaults = new HttpsPhotoSource({ allowedPorts: [port], ca });
      await rejectsWith(defaults.fromUrl(`https://127.0.0.1:${port}/good.png`), 'blocked_address');
      await rejectsWith(defaults.fromUrl(`https://[::ffff:127.0.0.1]:${port}/good.png`), 'blocked_address');
      await rejectsWith(defaults.fromUrl(`https://localhost:${port}/good.png`), 'blocked_address');
      // A name that resolves to loopback (DNS rebinding's second answer, say) is refused the same way.
      const withDns = new HttpsPhotoSource({ allowedPorts: [port], ca, resolve });
      await rejectsWith(withDns.fromUrl(url('/good.png')), 'blocked_address');
      assert.equal(connections, 0);
    });

    it('fetches a PNG and makes a small copy', async function () {
      const image = await testSource().fromUrl(url('/good.png'));
      assert.equal(image.contentType, 'image/png');
      assert.ok(image.bytes.equals(goodPng));
      assert.equal(seen[0]?.host, `img.test:${port}`);
      assert.equal(seen[0]?.authorization, undefined);

      const thumb = await makeThumbnail(image.bytes);
      assert.ok(thumb.bytes.length < MAX_THUMBNAIL_BYTES, `${thumb.bytes.length} bytes`);
      const meta = await sharp(thumb.bytes).metadata();
      assert.equal(meta.width, 192);
      assert.equal(meta.height, 192);
      assert.equal(thumb.contentType, `image/${meta.format}`);
      assert.equal(meta.exif, undefined);
    });

    it('trusts the bytes, not the Content-Type: octet-stream PNG is accepted, HTML labelled PNG is not', async function () {
      assert.equal((await testSource().fromUrl(url('/good-octet'))).contentType, 'image/png');
      await rejectsWith(testSource().fromUrl(url('/html-claiming-png')), 'not_image');
    });

    it('refuses text/html and SVG', async function () {
      await rejectsWith(testSource().fromUrl(url('/page.html')), 'not_image');
      await rejectsWith(testSource().fromUrl(url('/svg')), 'not_image');
    });

    it('refuses more than 1 MiB, by Content-Length and by counting the stream', async function () {
      await rejectsWith(testSource().fromUrl(url('/big-declared.png')), 'too_large');
      await rejectsWith(testSource().fromUrl(url('/big-streamed.png')), 'too_large');
    });

    it('refuses a redirect to a private address without connecting to it', async function () {
      await rejectsWith(testSource().fromUrl(url('/redirect-private')), 'blocked_address');
      assert.deepEqual(
        seen.map((s) => s.path),
        ['/redirect-private'],
      );
    });

    it('re-checks every hop: a redirect to an IPv4-mapped address or to http is refused', async function () {
      // A policy that allows exactly 127.0.0.1 (the first hop) and nothing else.
      const source = testSource({ addressPolicy: (a) => a === '127.0.0.1' });
      await rejectsWith(source.fromUrl(url('/redirect-mapped')), 'blocked_address');
      assert.deepEqual(
        seen.map((s) => s.path),
        ['/redirect-mapped'],
      );
      await rejectsWith(testSource().fromUrl(url('/redirect-http')), 'bad_url');
    });

    it('follows up to 3 redirects and refuses a 4th', async function () {
      assert.equal((await testSource().fromUrl(url('/redirect-ok'))).contentType, 'image/png');
      assert.equal((await testSource().fromUrl(url('/hop/3'))).contentType, 'image/png');
      await rejectsWith(testSource().fromUrl(url('/hop/4')), 'too_many_redirects');
    });

    it('refuses HTTP errors and times out', async function () {
      await rejectsWith(testSource().fromUrl(url('/missing')), 'http_status');
      await rejectsWith(testSource({ timeoutMs: 300 }).fromUrl(url('/slow')), 'timeout');
    });

    it('refuses a certificate it does not trust', async function () {
      await rejectsWith(testSource({ ca: undefined }).fromUrl(url('/good.png')), 'network');
    });

    it('sends an attachment token to its own origin only, never across a redirect', async function () {
      const options = { allowedPorts: [port], ca, resolve, addressPolicy: testPolicy, tokenHosts: ['img.test'] };
      const image = await fetchAttachmentImage(url('/redirect-other-host'), 'bot-token', options);
      assert.equal(image.contentType, 'image/png');
      assert.deepEqual(
        seen.map((s) => [s.host, s.authorization]),
        [
          [`img.test:${port}`, 'Bearer bot-token'],
          [`img2.test:${port}`, undefined],
        ],
      );
      await rejectsWith(fetchAttachmentImage(url('/good.png', 'img2.test'), 'bot-token', options), 'bad_url');
    });
  });

  describe('Teams attachments', function () {
    it('finds a file upload (download.info) and an inline image, ignoring the html sibling', function () {
      const file = imageRefFromAttachments([
        {
          contentType: TEAMS_FILE_DOWNLOAD_INFO,
          name: 'team.jpg',
          contentUrl: 'https://contoso-my.sharepoint.com/personal/a/Documents/team.jpg',
          content: { downloadUrl: 'https://contoso-my.sharepoint.com/download.aspx?tempauth=x', uniqueId: 'u', fileType: 'jpg' },
        },
      ]);
      assert.deepEqual(file, { url: 'https://contoso-my.sharepoint.com/download.aspx?tempauth=x', needsBotToken: false, name: 'team.jpg' });

      const inline = imageRefFromAttachments([
        { contentType: 'text/html', content: '<p><img src="https://us-api.asm.skype.com/v1/objects/0-x/views/imgo"></p>' },
        { contentType: 'image/*', contentUrl: 'https://smba.trafficmanager.net/emea/v3/attachments/0-x/views/original' },
      ]);
      assert.deepEqual(inline, { url: 'https://smba.trafficmanager.net/emea/v3/attachments/0-x/views/original', needsBotToken: true });

      assert.equal(
        imageRefFromAttachments([
          { contentType: TEAMS_FILE_DOWNLOAD_INFO, name: 'notes.docx', content: { downloadUrl: 'https://x.example/d', fileType: 'docx' } },
        ]),
        undefined,
      );
      assert.equal(imageRefFromAttachments(undefined), undefined);
    });

    it('matches Bot Framework hosts for the token', function () {
      assert.ok(hostMatches('smba.trafficmanager.net', ['smba.trafficmanager.net']));
      assert.ok(hostMatches('emea.smba.trafficmanager.net', ['*.smba.trafficmanager.net']));
      assert.ok(!hostMatches('evilsmba.trafficmanager.net', ['*.smba.trafficmanager.net']));
      assert.ok(!hostMatches('smba.trafficmanager.net.evil.example', ['smba.trafficmanager.net']));
    });

    it('never sends the bot token to a host outside the Bot Framework', async function () {
      await rejectsWith(
        fetchAttachmentImage('https://evil.example/x.png', 'bot-token', { resolve: () => Promise.reject(new Error('x')) }),
        'bad_url',
      );
    });
  });

  describe('makeThumbnail', function () {
    it('strips metadata from a JPEG and keeps transparency as PNG', async function () {
      const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#336699' } })
        .jpeg()
        .withMetadata({ exif: { IFD0: { Copyright: 'someone', ImageDescription: 'gps would be here' } } })
        .toBuffer();
      assert.ok((await sharp(jpeg).metadata()).exif, 'the input has EXIF');
      const thumb = await makeThumbnail(jpeg);
      const meta = await sharp(thumb.bytes).metadata();
      assert.equal(thumb.contentType, 'image/jpeg');
      assert.deepEqual([meta.width, meta.height, meta.exif], [192, 192, undefined]);

      const png = await sharp({ create: { width: 300, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .png()
        .toBuffer();
      const thumbPng = await makeThumbnail(png);
      assert.equal(thumbPng.contentType, 'image/png');
      assert.ok(thumbPng.bytes.length < MAX_THUMBNAIL_BYTES);
    });

    it('refuses bytes that are not an image', async function () {
      await assert.rejects(makeThumbnail(Buffer.from('<!doctype html>')), /not an image/);
    });
  });
});
