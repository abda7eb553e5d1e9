import assert from 'node:assert/strict';
import { classifyAddress, isPublicAddress, type AddressClass } from '../../src/http/addressClass';
import { HttpsPhotoSource } from '../../src/http/httpsPhotoSource';
import { sniffImageType } from '../../src/http/imageFetch';
import { rejectsWith } from '../helpers/photoFetch';

describe('outbound photo fetching (src/http): address ranges, image types and URL rules', function () {
  describe('classifyAddress', function () {
    const table: Array<[string, AddressClass]> = [
      // IPv4
      ['8.8.8.8', 'public'],
      ['1.1.1.1', 'public'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', 'public'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['100.128.0.1', 'public'],
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['169.254.169.254', 'linkLocal'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['192.0.0.170', 'reserved'],
      ['192.0.2.1', 'documentation'],
      ['198.18.0.1', 'benchmarking'],
      // IPv6
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['[::1]', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:169.254.169.254', 'linkLocal'],
      ['::ffff:100.64.1.1', 'cgnat'],
      ['::ffff:8.8.8.8', 'public'],
      ['::127.0.0.1', 'reserved'],
      ['64:ff9b::10.0.0.1', 'private'],
      ['64:ff9b::8.8.8.8', 'public'],
      ['2002:7f00:1::1', 'loopback'],
      ['2001::1', 'reserved'],
      ['2001:db8::1', 'documentation'],
      ['fe80::1', 'linkLocal'],
      ['fe80::1%eth0', 'linkLocal'],
      ['fec0::1', 'siteLocal'],
      ['fc00::1', 'uniqueLocal'],
      ['fd12:3456:789a::1', 'uniqueLocal'],
      ['ff02::1', 'multicast'],
      ['2606:4700:4700::1111', 'public'],
      ['2a00:1450:4001:80e::200e', 'public'],
      // Not addresses
      ['localhost', 'invalid'],
      ['1.2.3', 'invalid'],
      ['', 'invalid'],
    ];
    for (const [address, expected] of table) {
      it(`${address || '(empty)'} is ${expected}`, function () {
        assert.equal(classifyAddress(address), expected);
        assert.equal(isPublicAddress(address), expected === 'public');
      });
    }
  });

  it('sniffs image types by magic bytes', function () {
    assert.equal(sniffImageType(Buffer.from('89504e470d0a1a0a0000', 'hex')), 'image/png');
    assert.equal(sniffImageType(Buffer.from('ffd8ffe000104a464946', 'hex')), 'image/jpeg');
    assert.equal(sniffImageType(Buffer.from('GIF89a....')), 'image/gif');
    assert.equal(sniffImageType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')), 'image/webp');
    assert.equal(sniffImageType(Buffer.from('<!doctype html>')), undefined);
    assert.equal(sniffImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
  });

  describe('URL rules (nothing is fetched)', function () {
    const source = new HttpsPhotoSource({ resolve: () => Promise.reject(new Error('no DNS in this test')) });
    for (const url of [
      'http://example.com/a.png',
      'data:image/png;base64,iVBORw0KGgo=',
      'file:///etc/passwd',
      'ftp://example.com/a.png',
      'https://user:pass@example.com/a.png',
      'https://example.com:8443/a.png',
      'javascript:alert(1)',
      'not a url',
      '',
    ]) {
      it(`refuses ${url || '(empty)'}`, async function () {
        await rejectsWith(source.fromUrl(url), 'bad_url');
      });
    }
    it('refuses literal private addresses, including numeric and mapped forms', async function () {
      for (const url of [
        'https://10.0.0.1/a.png',
        'https://2130706433/a.png',
        'https://[::ffff:127.0.0.1]/a.png',
        'https://[fd00::1]/a.png',
        'https://0x7f.1/a.png',
      ]) {
        await rejectsWith(source.fromUrl(url), 'blocked_address');
      }
    });
  });
});
