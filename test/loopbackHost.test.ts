import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError, isLoopbackAddress, isLoopbackHost, loadConfig, verifyLoopbackHost, type HostResolver } from '../src/config';

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

/** A resolver stub: answers from a table, as dns.lookup({ all: true }) would, and records what it was asked. */
function resolverOf(table: Record<string, string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

function refusedWithOneLine(err: unknown): boolean {
  return err instanceof ConfigError && /^Invalid configuration: HOST /.test(err.message) && !err.message.includes('\n');
}

describe('Loopback means loopback (HOST without an app id)', () => {
  describe('literal addresses', () => {
    for (const host of ['127.0.0.1', '127.0.0.53', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      it(`accepts ${host}`, () => {
        assert.equal(isLoopbackAddress(host), true);
        assert.equal(loadConfig({ HOST: host }).HOST, host);
      });
    }

    for (const host of [
      '127.evil.example',
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '127.1',
      '0x7f.0.0.1',
      '::ffff:10.0.0.1',
      '::1%lo',
      'localhost.',
      'localhost.evil.example',
      'evil.example',
    ]) {
      it(`refuses ${host} at once, with one line naming HOST`, () => {
        assert.equal(isLoopbackHost(host), false);
        assert.throws(() => loadConfig({ HOST: host }), refusedWithOneLine);
      });
    }

    it('accepts any HOST once channel authentication is on', async () => {
      const config = loadConfig({ HOST: '0.0.0.0', MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'x' });
      const resolve = resolverOf({});
      await verifyLoopbackHost(config, resolve);
      assert.deepEqual(resolve.asked, []);
    });
  });

  describe('localhost, through the resolver', () => {
    it('accepts localhost that resolves only to loopback addresses', async () => {
      const resolve = resolverOf({ localhost: ['::1', '127.0.0.1'] });
      await verifyLoopbackHost(loadConfig({ HOST: 'localhost' }), resolve);
      assert.deepEqual(resolve.asked, ['localhost']);
    });

    it('does not resolve a literal loopback address', async () => {
      const resolve = resolverOf({});
      await verifyLoopbackHost(loadConfig({ HOST: '127.0.0.1' }), resolve);
      assert.deepEqual(resolve.asked, []);
    });

    for (const [what, addresses] of [
      ['to 0.0.0.0 (every interface)', ['0.0.0.0']],
      ['to a LAN address besides loopback', ['127.0.0.1', '192.168.1.20']],
      ['to :: (every interface)', ['::1', '::']],
      ['to nothing at all', []],
    ] as const) {
      it(`refuses localhost that resolves ${what}, with one line`, async () => {
        await assert.rejects(
          verifyLoopbackHost(loadConfig({ HOST: 'localhost' }), resolverOf({ localhost: [...addresses] })),
          refusedWithOneLine,
        );
      });
    }

    it('refuses localhost that does not resolve, with one line', async () => {
      await assert.rejects(verifyLoopbackHost(loadConfig({ HOST: 'localhost' }), resolverOf({})), refusedWithOneLine);
    });

    it('refuses a name that is not localhost without resolving it, even if it would resolve to 127.0.0.1', async () => {
      const resolve = resolverOf({ '127.evil.example': ['127.0.0.1'] });
      await assert.rejects(verifyLoopbackHost({ HOST: '127.evil.example', channelAuthEnabled: false }, resolve), refusedWithOneLine);
      assert.deepEqual(resolve.asked, []);
    });
  });

  it('stops the bot at start-up with exit code 2 and one line for HOST=127.evil.example', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      cwd: path.resolve(__dirname, '..'),
      env: { PATH: process.env.PATH, HOST: '127.evil.example', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr.trim(), /^Invalid configuration: HOST must be a loopback address/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });
});
