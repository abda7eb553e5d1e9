import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudAdapter } from 'botbuilder';
import sinon from 'sinon';
import { AdapterMessenger } from '../src/proactive';
import { memoryLogger } from './helpers/testApp';

describe('Proactive messages', () => {
  it('go only to allow-listed service URLs: a stored reference naming another host reaches nobody', async () => {
    let requests = 0;
    const evil = http.createServer((_req, res) => {
      requests++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const { port } = evil.address() as AddressInfo;
    const continueConversationAsync = sinon.stub().resolves();
    const { logger, logs } = memoryLogger();
    const messenger = new AdapterMessenger({
      adapter: { continueConversationAsync } as unknown as CloudAdapter,
      botAppId: 'bot',
      allowedServiceUrlHosts: ['smba.trafficmanager.net'],
      allowLoopback: false,
      logger,
    });
    try {
      for (const serviceUrl of [`http://127.0.0.1:${port}/`, 'https://evil.example/', 'https://smba.trafficmanager.net.evil.example/']) {
        const sent = await messenger.send(JSON.stringify({ serviceUrl, conversation: { id: 'a:1' } }), { text: 'hi' });
        assert.equal(sent, false, serviceUrl);
      }
      assert.equal(await messenger.send('not json', { text: 'hi' }), false);
      assert.equal(continueConversationAsync.callCount, 0);
      assert.equal(requests, 0);
      assert.ok(logs.some((l) => l.msg === 'proactive message refused: service URL not allowed'));

      assert.equal(await messenger.send(JSON.stringify({ serviceUrl: 'https://smba.trafficmanager.net/emea/', conversation: { id: 'a:1' } }), { text: 'hi' }), true);
      assert.equal(continueConversationAsync.callCount, 1);
    } finally {
      evil.close();
    }
  });
});
