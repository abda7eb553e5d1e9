import assert from 'node:assert/strict';
import { PhotoFetchError, type PhotoFetchErrorReason } from '../../src/http/imageFetch';

/** Awaits a fetch that must fail with a PhotoFetchError of `reason` (with a message for users); returns it. */
export async function rejectsWith(promise: Promise<unknown>, reason: PhotoFetchErrorReason): Promise<PhotoFetchError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PhotoFetchError, `expected a PhotoFetchError, got ${String(err)}`);
    assert.equal(err.reason, reason, `${err.reason}: ${err.detail}`);
    assert.ok(err.userMessage.length > 0);
    return err;
  }
  assert.fail(`expected a rejection with ${reason}`);
}
