import { escapeHtml } from './html';

/**
 * The look shared by every page people open outside Teams (the invite landing page, its error pages, the home,
 * privacy and terms pages): phone first, one column, no web fonts, no images but our own, no script unless a
 * page brings its own (allowed by its CSP hash). Everything works with JavaScript off.
 */
export const PAGE_CSS = `*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f0f0f5;color:#242424;line-height:1.45;font-size:1rem}
main{max-width:32rem;margin:0 auto;background:#fff;padding:1.25rem 1rem 1.5rem;min-height:100vh}
@media (min-width:40rem){main{margin:2rem auto;border-radius:12px;box-shadow:0 2px 8px rgba(0,0,0,.12);min-height:0;padding:2rem}}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 .25rem;overflow-wrap:anywhere}
h2{font-size:1.05rem;margin:1.5rem 0 .4rem}
p,li{overflow-wrap:anywhere}
a{color:#4f52b2}
.brand{display:flex;align-items:center;gap:.5rem;color:#5b5fc7;font-weight:600;font-size:.9rem;margin:0 0 1rem;text-decoration:none}
.brand span{display:inline-block;width:1.4rem;height:1.4rem;border-radius:6px;background:#5b5fc7}
.meta{color:#616161;margin:0 0 1rem}
.owner{display:inline-block;background:#e8ebfa;color:#3d3e99;border-radius:999px;padding:.15rem .6rem;font-size:.85rem;font-weight:600}
.button{display:block;text-align:center;background:#5b5fc7;color:#fff;padding:.95rem 1rem;border-radius:8px;text-decoration:none;font-weight:700;font-size:1.1rem;margin:1rem 0 .5rem}
.button:focus,.button:hover{background:#4f52b2}
.secondary{display:block;text-align:center;border:1px solid #c7c8e9;color:#4f52b2;padding:.7rem 1rem;border-radius:8px;text-decoration:none;font-weight:600;margin:.5rem 0}
.note{background:#faf9f8;border-left:4px solid #c7c8e9;padding:.6rem .8rem;border-radius:4px;font-size:.92rem}
.muted{color:#616161;font-size:.9rem}
footer{margin-top:2rem;font-size:.85rem;color:#616161}
footer a{color:#616161;margin-right:1rem}`;

export interface PageOptions {
  title: string;
  /** The inside of <main>, already escaped. */
  main: string;
  /** Extra tags for <head> (Open Graph, page-specific style), already escaped. */
  head?: string;
  /** The page's one script, if any; its CSP hash must be in the response headers. */
  script?: string;
  /** Footer links to the home, privacy and terms pages (off for the bot's own error pages? on everywhere). */
  footer?: boolean;
}

export function renderPage(options: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(options.title)}</title>
${options.head ?? ''}<style>
${PAGE_CSS}
</style>
</head>
<body>
<main>
<a class="brand" href="/"><span aria-hidden="true"></span>Kaizala Groups for Teams</a>
${options.main}
${options.footer === false ? '' : '<footer><a href="/">About</a><a href="/privacy">Privacy</a><a href="/terms">Terms</a></footer>'}
</main>
${options.script === undefined ? '' : `<script>${options.script}</script>\n`}</body>
</html>`;
}
