import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readyLine } from '../src/readyLine';
import { freeLoopbackPort } from '../src/storage/embeddedAzurite';
import { logLines, startBot, stopBot } from './helpers/botProcess';

describe('the line npm start prints for people', function () {
  this.timeout(60_000);

  it('names the address and the next step: the playground locally, the messaging endpoint when deployed', () => {
    assert.equal(
      readyLine('http://127.0.0.1:3978', { channelAuthEnabled: false, PUBLIC_URL: 'http://localhost:3978' }),
      'Kaizala Groups bot on http://127.0.0.1:3978 — chat with it: npm run playground. Ctrl+C stops it.',
    );
    assert.equal(
      readyLine('http://0.0.0.0:8080', { channelAuthEnabled: true, PUBLIC_URL: 'https://groups.contoso.example' }),
      "Kaizala Groups bot on http://0.0.0.0:8080 — Teams reaches it at https://groups.contoso.example/api/messages (the Azure Bot's messaging endpoint). Ctrl+C stops it.",
    );
  });

  it('is printed once by the real entry point, beside the JSON log lines', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaizala-ready-'));
    const port = await freeLoopbackPort();
    const bot = await startBot(dataDir, port);
    try {
      const expected = `Kaizala Groups bot on http://127.0.0.1:${port} — chat with it: npm run playground. Ctrl+C stops it.`;
      const deadline = Date.now() + 10_000;
      while (!bot.output().includes(expected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const lines = bot.output().split('\n');
      assert.equal(lines.filter((l) => l === expected).length, 1, bot.output());
      assert.ok(
        logLines(bot.output()).some((l) => l['msg'] === 'bot listening'),
        'the JSON lines are still there',
      );
    } finally {
      await stopBot(bot);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
