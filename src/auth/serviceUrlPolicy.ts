import { isLoopbackHost } from '../config';
import { stripBrackets } from './loopbackCredentials';

/* Which serviceUrls the bot may send proactive messages to (and so hand its token). */

export interface ServiceUrlPolicy {
  /** Allow http(s) to 127.0.0.0/8, ::1 and localhost (tests, local playground). */
  allowLoopback?: boolean;
}

/**
 * Whether the bot may send to this serviceUrl (and so hand it its token): https on the default port to a host in
 * the allowlist (`*.example.com` matches subdomains only), no credentials in the URL; or, when allowed, loopback.
 * The SDK trusts every serviceUrl (AppCredentials.isTrustedServiceUrl is always true).
 */
export function isAllowedServiceUrl(serviceUrl: string, allowedHosts: readonly string[], policy: ServiceUrlPolicy = {}): boolean {
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  const host = stripBrackets(url.hostname.toLowerCase());
  if (policy.allowLoopback && isLoopbackHost(host) && (url.protocol === 'http:' || url.protocol === 'https:')) {
    return true;
  }
  if (url.protocol !== 'https:' || url.port !== '') return false;
  return allowedHosts.some((pattern) => {
    const p = pattern.trim().toLowerCase();
    if (p.startsWith('*.')) {
      const suffix = p.slice(1); // ".example.com"
      return host.endsWith(suffix) && host.length > suffix.length;
    }
    return host === p;
  });
}
