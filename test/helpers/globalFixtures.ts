import sinon from 'sinon';
import { stopSharedAzurite } from './azurite';

/** Root hooks shared by every test file (loaded through .mocharc.json). */
export const mochaHooks = {
  afterEach() {
    sinon.restore();
  },
  async afterAll() {
    await stopSharedAzurite();
  },
};
