import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The export fixtures in test/import/fixtures (written for these tests, each in its app's format). */
export function fixture(name: string): Buffer {
  return readFileSync(path.join(__dirname, 'fixtures', name));
}

export const NEW_YORK = 'America/New_York';
export const BERLIN = 'Europe/Berlin';
