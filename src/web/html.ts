/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Headers every HTML page of ours carries: no framing except by Teams, no inline script, no indexing. */
export function pageHeaders(options: { allowTeamsFraming?: boolean; scriptSrc?: string } = {}): Record<string, string> {
  const frameAncestors = options.allowTeamsFraming
    ? "'self' https://teams.microsoft.com https://*.teams.microsoft.com https://*.cloud.microsoft https://*.office.com https://*.skype.com"
    : "'none'";
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': `default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src ${options.scriptSrc ?? "'none'"}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors ${frameAncestors}`,
    'X-Robots-Tag': 'noindex, nofollow',
    'Cache-Control': 'no-store',
  };
}
