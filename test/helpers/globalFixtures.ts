import sinon from 'sinon';
import { shareAzuriteWithChildren, stopSharedAzurite } from './azurite';

/**
 * Global fixtures (mocha's main process, once per run): the shared in-memory Azurite, started before any file and
 * handed to the parallel workers (see azurite.ts), so that no worker starts one per file.
 */
export async function mochaGlobalSetup(): Promise<void> {
  await shareAzuriteWithChildren();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopSharedAzurite();
}

/** Root hooks shared by every test file (loaded through .mocharc; in parallel mode they run per file). */
export const mochaHooks = {
  afterEach() {
    sinon.restore();
  },
  async afterAll() {
    // Stops only an Azurite this process started itself; the one shared by the main process stays up.
    await stopSharedAzurite();
  },
};
