import { AuthenticationConstants } from 'botframework-connector';
import type { AppConfig } from '../config';

/*
 * The pre-SDK gate of POST /api/messages (layer 1 in channelAuth.ts): a pure check of the Authorization header
 * before the SDK decodes anything.
 */

/** The issuer of every token the Bot Framework channels (Teams included) send to a bot. */
export const BOT_FRAMEWORK_CHANNEL_ISSUER = AuthenticationConstants.ToBotFromChannelTokenIssuer;

export type ChannelGateResult = { ok: true } | { ok: false; reason: ChannelGateReason };
export type ChannelGateReason = 'missing' | 'scheme' | 'malformed' | 'algorithm' | 'issuer' | 'too_large';
/** A pure function of the Authorization header. */
export type ChannelGate = (authorization: string | string[] | undefined) => ChannelGateResult;

export interface ChannelGateOptions {
  /** False when channel authentication is off (no app id: loopback development only); the gate then passes all. */
  enabled: boolean;
  /** Issuers accepted before verification: the Bot Framework issuer, or the configured ToBotFromChannelTokenIssuer. */
  allowedIssuers: string[];
}

/** Channel tokens are well under 4 KB; the cap bounds the unverified decoding work. */
const MAX_CHANNEL_TOKEN_LENGTH = 8 * 1024;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** The algorithms the SDK accepts (AuthenticationConstants.AllowedSigningAlgorithms). */
const RSA_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512']);

/** The gate options implied by the app configuration. */
export function channelGateOptions(config: Pick<AppConfig, 'MicrosoftAppId' | 'ToBotFromChannelTokenIssuer'>): ChannelGateOptions {
  return {
    enabled: config.MicrosoftAppId !== undefined && config.MicrosoftAppId !== '',
    allowedIssuers: [config.ToBotFromChannelTokenIssuer || BOT_FRAMEWORK_CHANNEL_ISSUER],
  };
}

/**
 * Refuses, before the SDK: a missing header, a scheme other than Bearer, a token that is not a compact JWS with
 * JSON header and payload, an algorithm other than RS256/384/512, and an unverified `iss` not in the allowed list.
 * Accepts either explicit options or the app configuration.
 */
export function createChannelGate(
  options: ChannelGateOptions | Pick<AppConfig, 'MicrosoftAppId' | 'ToBotFromChannelTokenIssuer'>,
): ChannelGate {
  const { enabled, allowedIssuers } = 'allowedIssuers' in options ? options : channelGateOptions(options);
  const issuers = new Set(allowedIssuers);
  return (authorization) => {
    if (!enabled) return { ok: true };
    if (authorization === undefined || Array.isArray(authorization) || authorization.trim() === '') {
      return { ok: false, reason: 'missing' };
    }
    if (authorization.length > MAX_CHANNEL_TOKEN_LENGTH + 16) return { ok: false, reason: 'too_large' };
    // Exactly what the SDK accepts: "Bearer" (case-sensitive), one space, the token.
    const parts = authorization.split(' ');
    if (parts.length !== 2 || parts[0] !== 'Bearer') return { ok: false, reason: 'scheme' };
    const token = parts[1]!;
    if (!JWT_SHAPE.test(token)) return { ok: false, reason: 'malformed' };
    const [headerPart, payloadPart] = token.split('.') as [string, string, string];
    const header = decodeSegment(headerPart);
    const payload = decodeSegment(payloadPart);
    if (!header || !payload) return { ok: false, reason: 'malformed' };
    if (typeof header['alg'] !== 'string' || !RSA_ALGORITHMS.has(header['alg'])) return { ok: false, reason: 'algorithm' };
    const iss = payload['iss'];
    if (typeof iss !== 'string' || !issuers.has(iss)) return { ok: false, reason: 'issuer' };
    return { ok: true };
  };
}

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
