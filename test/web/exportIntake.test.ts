import assert from 'node:assert/strict';
import { InvalidInputError, TooLargeError } from '../../src/errors';
import { MAX_UPLOAD_BYTES } from '../../src/import/readExport';
import { decodeDataUrl, ExportIntake, isFileAttachment, TEAMS_FILE } from '../../src/web/exportIntake';

describe('web/exportIntake: a chat export sent as a file', () => {
  it('takes Teams files named .txt, .json or .zip and inline data: files that are not pictures', () => {
    assert.ok(isFileAttachment({ contentType: TEAMS_FILE, name: 'WhatsApp Chat with Depot.txt' }));
    assert.ok(isFileAttachment({ contentType: TEAMS_FILE, name: 'result.JSON' }));
    assert.ok(!isFileAttachment({ contentType: TEAMS_FILE, name: 'IMG_0001.jpg' }));
    assert.ok(isFileAttachment({ contentType: 'text/plain', contentUrl: 'data:text/plain;base64,aGk=', name: 'chat.txt' }));
    assert.ok(!isFileAttachment({ contentType: 'image/png', contentUrl: 'data:image/png;base64,aGk=' }));
    assert.ok(!isFileAttachment({ contentType: 'image/png', contentUrl: 'https://example.com/a.png' }));
  });

  it('decodes a base64 data: URL, refuses other shapes and what would be over 50 MB before decoding', () => {
    assert.equal(Buffer.from(decodeDataUrl('data:text/plain;charset=utf-8;base64,aGkK')).toString(), 'hi\n');
    assert.equal(Buffer.from(decodeDataUrl('data:;base64,aGkK')).toString(), 'hi\n');
    assert.throws(() => decodeDataUrl('data:text/plain,hi'), InvalidInputError);
    assert.throws(() => decodeDataUrl(`data:text/plain;base64,${'A'.repeat(Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 8)}`), TooLargeError);
  });

  it("fetches only from Teams' own file hosts, and refuses an attachment without a download URL", async () => {
    const intake = new ExportIntake();
    await assert.rejects(
      intake.fromAttachment({
        contentType: TEAMS_FILE,
        name: 'chat.txt',
        content: { downloadUrl: 'https://169.254.169.254/latest/meta-data' },
      }),
      /only from Teams' own storage, not from 169\.254\.169\.254/,
    );
    await assert.rejects(
      intake.fromAttachment({ contentType: TEAMS_FILE, name: 'chat.txt', content: {} }),
      /Send the chat export as a file/,
    );
  });
});
