// Writes the tab's browser bundle next to the compiled tab page (dist/src/web/tab/tab.js), so that a compiled
// deployment serves it without bundling at start. Same bundler and options as the run-time path (tabPage.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { bundleTabClient } = await tsImport('../src/web/tab/tabPage.ts', import.meta.url);
const code = await bundleTabClient(path.join(root, 'src/web/tab/client/tab.ts'));
const out = path.join(root, 'dist/src/web/tab/tab.js');
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, code);
process.stdout.write(`tab bundle: ${out} (${code.length} bytes)\n`);
