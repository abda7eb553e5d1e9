import assert from 'node:assert/strict';
import { sniffImageType } from '../src/imageType';

describe('src/imageType: the image type by its magic numbers', () => {
  it('tells PNG, JPEG, both GIF versions and WebP from their first bytes', () => {
    assert.equal(sniffImageType(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')), 'image/png');
    assert.equal(sniffImageType(Buffer.from('ffd8ffdb0043', 'hex')), 'image/jpeg');
    assert.equal(sniffImageType(Buffer.from('GIF87a\x01\x00', 'latin1')), 'image/gif');
    assert.equal(sniffImageType(Buffer.from('GIF89a\x01\x00', 'latin1')), 'image/gif');
    assert.equal(sniffImageType(Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8L', 'latin1')), 'image/webp');
  });

  it('knows nothing else: a truncated header, a RIFF that is not WebP, "GIF8" alone, HTML, an empty buffer', () => {
    assert.equal(sniffImageType(Buffer.from('89504e470d0a', 'hex')), undefined);
    assert.equal(sniffImageType(Buffer.from('ffd8', 'hex')), undefined);
    assert.equal(sniffImageType(Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')), undefined);
    assert.equal(sniffImageType(Buffer.from('GIF8xx', 'latin1')), undefined);
    assert.equal(sniffImageType(Buffer.from('<html><img src=x></html>')), undefined);
    assert.equal(sniffImageType(Buffer.alloc(0)), undefined);
  });
});
