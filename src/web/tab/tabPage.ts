import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Request, Response, Server } from 'restify';
import type { Logger } from '../../logger';
import { escapeHtml, pageHeaders } from '../html';

/**
 * GET /tab: the Teams tab's HTML shell. GET /tab/tab.js: its script (client/tab.ts).
 *
 * The script is bundled with esbuild in memory, once, when the routes are registered (so `npm start` needs no
 * build step); a compiled deployment can ship a prebuilt bundle instead (`prebuiltBundlePath`, written by
 * `npm run build`). The page allows framing by Teams only and runs only our own script (`script-src 'self'`).
 */

export interface TabPageOptions {
  logger: Logger;
  /** The server's public base URL; only its path is used (a bot served under /bot serves /bot/tab/tab.js). */
  publicUrl?: string;
  /**
   * Marks the page with `data-test-hooks="on"`, which lets browser tests replace the Teams sign-in with
   * `window.__kaizalaTestTokenProvider`. Test runs only: never set it in production.
   */
  allowTestHooks?: boolean;
  /** A bundle made ahead of time; used when the file exists. Default: tab.js next to this module. */
  prebuiltBundlePath?: string;
  /** The client's entry point, for bundling at run time. */
  clientEntry?: string;
}

interface Bundle {
  code: string;
  etag: string;
}

/** Where teams-js fetches validDomains.json from. */
const TEAMS_JS_CDN = 'https://res.cdn.office.net';

export const TAB_CLIENT_ENTRY = path.join(__dirname, 'client', 'tab.ts');

/** Bundles the tab's browser code: one IIFE for the browsers Teams supports. Also used by the build script. */
export async function bundleTabClient(entry: string = TAB_CLIENT_ENTRY): Promise<string> {
  // Loaded on demand: esbuild is a build tool (installed with tsx), not needed by anything else at run time.
  // require, not import(): a dynamic import inside a module that tsx loads as CommonJS fails to resolve.
  const esbuild = createRequire(__filename)('esbuild') as typeof import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output for the tab');
  return output.text;
}

export function tabRoutes(options: TabPageOptions) {
  const basePath = options.publicUrl ? new URL(options.publicUrl).pathname.replace(/\/+$/, '') : '';
  const prebuilt = options.prebuiltBundlePath ?? path.join(__dirname, 'tab.js');
  let bundle: Promise<Bundle> | undefined;
  const loadBundle = (): Promise<Bundle> => {
    bundle ??= (existsSync(prebuilt) ? readFile(prebuilt, 'utf8') : bundleTabClient(options.clientEntry)).then((code) => ({
      code,
      etag: `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"`,
    }));
    // A failed bundle is not kept: the next request tries again (and the failure is logged once per try).
    bundle.catch((err: unknown) => {
      options.logger.error({ err }, 'bundling the tab script failed');
      bundle = undefined;
    });
    return bundle;
  };

  return (server: Server): void => {
    // Start now, in the background, so that the first person to open the tab does not wait for esbuild.
    loadBundle().catch(() => undefined);

    server.get('/tab', async (_req: Request, res: Response) => {
      res.writeHead(200, tabPageHeaders());
      res.end(renderTabShell({ testHooks: options.allowTestHooks === true, basePath }));
    });

    server.get('/tab/tab.js', async (req: Request, res: Response) => {
      let loaded: Bundle;
      try {
        loaded = await loadBundle();
      } catch {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '5' });
        res.end('The tab script is not available right now.');
        return;
      }
      const headers = {
        // Revalidated on each load: a deployment must reach the tab at once; the ETag makes that a 304.
        'Cache-Control': 'no-cache',
        ETag: loaded.etag,
      };
      if (req.headers['if-none-match'] === loaded.etag) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, {
        ...headers,
        'Content-Type': 'text/javascript; charset=utf-8',
        'Content-Length': String(Buffer.byteLength(loaded.code)),
      });
      res.end(loaded.code);
    });
  };
}

/**
 * The page headers of every page of ours, framed by Teams, running our script. teams-js also fetches its current
 * list of valid host origins from Microsoft's CDN (it falls back to a built-in list when it cannot): connect-src
 * allows that one origin besides ourselves.
 */
export function tabPageHeaders(): Record<string, string> {
  const headers = pageHeaders({ allowTeamsFraming: true, scriptSrc: "'self'" });
  const csp = headers['Content-Security-Policy'] ?? '';
  return { ...headers, 'Content-Security-Policy': csp.replace("connect-src 'self'", `connect-src 'self' ${TEAMS_JS_CDN}`) };
}

/**
 * The shell the script fills in. The script's URL is absolute (with the base path), and the script finds the API
 * relative to its own URL, so `/tab` and `/tab/` both work.
 */
export function renderTabShell(options: { testHooks: boolean; basePath?: string }): string {
  return `<!doctype html>
<html lang="en" data-theme="default">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Kaizala Groups</title>
<style>
:root{--bg:#f5f5f5;--fg:#242424;--muted:#616161;--card:#fff;--line:#d1d1d1;--brand:#5b5fc7;--brand-fg:#fff;--danger:#c4314b;--ok:#237b4b;--focus:#242424}
[data-theme=dark]{--bg:#1f1f1f;--fg:#fff;--muted:#c8c8c8;--card:#292929;--line:#525252;--brand:#7f85f5;--brand-fg:#000;--danger:#f1707b;--ok:#6ccb5f;--focus:#fff}
[data-theme=contrast]{--bg:#000;--fg:#fff;--muted:#fff;--card:#000;--line:#fff;--brand:#ffff01;--brand-fg:#000;--danger:#ffff01;--ok:#3ff23f;--focus:#3ff23f}
*{box-sizing:border-box}
body{margin:0;font-family:"Segoe UI",system-ui,-apple-system,sans-serif;font-size:15px;line-height:1.45;background:var(--bg);color:var(--fg)}
header,main{max-width:72rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.35rem;margin:1rem 0 .25rem}
h2{font-size:1.15rem;margin:0 0 .5rem;overflow-wrap:anywhere}
h3{font-size:1rem;margin:0 0 .5rem}
.status{min-height:1.5rem;margin:.25rem 0 .75rem}
.status[data-kind=error]{color:var(--danger);font-weight:600}
.status[data-kind=success]{color:var(--ok);font-weight:600}
.layout{display:grid;grid-template-columns:minmax(16rem,22rem) 1fr;gap:1rem;align-items:start}
@media (max-width:720px){.layout{grid-template-columns:1fr}}
.group-list{list-style:none;margin:0 0 .5rem;padding:0;display:grid;gap:.4rem}
button,a.download{font:inherit;border-radius:4px;min-height:2.75rem;padding:.5rem .9rem;cursor:pointer}
button{border:1px solid var(--line);background:var(--card);color:var(--fg)}
button.group{width:100%;text-align:left;display:grid;gap:.15rem}
button.group[aria-current=true]{border:2px solid var(--brand)}
.group-name{font-weight:600;overflow-wrap:anywhere}
.group-meta,.meta,.help{color:var(--muted);font-size:.9rem}
button.primary{background:var(--brand);color:var(--brand-fg);border-color:var(--brand)}
button.danger{background:var(--danger);color:#fff;border-color:var(--danger)}
button:disabled{opacity:.6;cursor:default}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.detail{display:grid;gap:.75rem;min-width:0}
.detail>p.meta{margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;min-width:0}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.invite-link{flex:1 1 14rem;min-width:0;font:inherit;padding:.5rem;min-height:2.75rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
label{display:block;font-weight:600;margin-bottom:.25rem}
img.qr{display:block;width:160px;height:160px;image-rendering:pixelated;background:#fff}
.action{margin:.5rem 0}
.confirm{margin-top:.5rem;padding:.75rem;border-left:4px solid var(--danger);background:var(--bg)}
.downloads{padding-left:1.2rem}
.downloads li{margin:.35rem 0}
a{color:var(--brand)}
a.download{display:inline-block;padding:.5rem 0}
.posts{list-style:none;margin:.5rem 0;padding:.5rem .25rem 0 0;border-top:1px solid var(--line);display:grid;gap:.5rem;max-height:60vh;overflow-y:auto}
.posts[hidden]{display:none}
.post{border-bottom:1px solid var(--line);padding:0 0 .5rem;min-width:0}
.post-head{margin:0;overflow-wrap:anywhere}
.post-time{margin-left:.25rem}
.post-text{margin:.15rem 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
.post-deleted{font-style:italic;color:var(--muted)}
.post-reply{margin:.15rem 0 0;padding-left:.5rem;border-left:3px solid var(--line);overflow-wrap:anywhere}
.compose{margin-top:.75rem}
textarea{display:block;width:100%;min-height:5.5rem;font:inherit;padding:.5rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg);resize:vertical}
.compose-actions{justify-content:space-between;margin-top:.25rem}
.counter{margin:0}
.counter[data-kind=error]{color:var(--danger);font-weight:600}
</style>
<script src="${escapeHtml(options.basePath ?? '')}/tab/tab.js" defer></script>
</head>
<body${options.testHooks ? ' data-test-hooks="on"' : ''}>
<header><h1>Kaizala Groups</h1></header>
<main>
<p id="status" class="status" role="status" aria-live="polite"></p>
<div id="app"><p>Loading…</p><noscript><p>This tab needs JavaScript. Open it in Microsoft Teams.</p></noscript></div>
</main>
</body>
</html>`;
}
