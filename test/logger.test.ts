import assert from 'node:assert/strict';
import { memoryLogger } from './helpers/testApp';

describe('Structured logging', () => {
  it('never writes tokens, authorization headers or secrets, wherever they sit in the logged object', () => {
    const { logger, logs } = memoryLogger();
    logger.info(
      {
        token: 'eyJhbGciOi.secret.token',
        authorization: 'Bearer eyJabc',
        req: { headers: { authorization: 'Bearer eyJdef' } },
        activity: { value: { token: 'eyJghi' } },
        config: { MicrosoftAppPassword: 'p4ss', STORAGE_CONNECTION_STRING: 'AccountKey=abc' },
        kept: 'visible',
      },
      'request',
    );
    logger.flush();
    const line = JSON.stringify(logs.at(-1));
    assert.doesNotMatch(line, /eyJ|p4ss|AccountKey/);
    assert.match(line, /visible/);
    assert.match(line, /\[redacted\]/);
  });
});
