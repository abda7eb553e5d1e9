import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { InviteReference } from './model';

/**
 * Invite link tokens and join codes. The server never stores either; it stores only their SHA-256 hashes (to
 * look up the group) and a random per-group nonce, from which it re-derives both with the app secret whenever
 * an admin opens the Invite card again. Resetting the link = a new nonce.
 */

export const INVITE_TOKEN_LENGTH = 22; // base64url characters: 132 bits of the HMAC
export const JOIN_CODE_LENGTH = 10; // Crockford base32 characters: 50 bits

const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/** True when `text` has the shape of an invite token (any other length or alphabet cannot be one). */
export function isInviteTokenShape(text: string): boolean {
  return typeof text === 'string' && TOKEN_SHAPE.test(text);
}

/**
 * True when the input was meant as an invite link or token but is damaged: a link to this server's `/join/`
 * with a token of the wrong length or characters, or a bare token-like string of the wrong length. Such input
 * is answered "this link is not valid", like a reset link, rather than "that is not a link".
 */
export function isDamagedInviteReference(input: string, publicUrl: string): boolean {
  if (typeof input !== 'string') return false;
  const text = input.trim();
  if (text.length === 0 || text.length > 2048) return false;
  if (/^[A-Za-z0-9_-]{16,64}$/.test(text)) return !TOKEN_SHAPE.test(text);
  if (!/^https?:\/\//i.test(text)) return false;
  try {
    const link = new URL(text);
    const base = new URL(publicUrl);
    const basePath = base.pathname.replace(/\/+$/, '');
    return (
      link.host.toLowerCase() === base.host.toLowerCase() &&
      link.pathname.startsWith(`${basePath}/join/`) &&
      parseInviteLink(text, publicUrl) === undefined
    );
  } catch {
    return false;
  }
}

export function newLinkNonce(): string {
  return randomBytes(16).toString('base64url');
}

function hmac(appSecret: string, message: string): Buffer {
  return createHmac('sha256', appSecret).update(message, 'utf8').digest();
}

export function deriveInviteToken(appSecret: string, groupId: string, linkNonce: string): string {
  return hmac(appSecret, `invite|${groupId}|${linkNonce}`).toString('base64url').slice(0, INVITE_TOKEN_LENGTH);
}

/** The canonical join code: 10 Crockford base32 characters, upper case, no dash. */
export function deriveJoinCode(appSecret: string, groupId: string, linkNonce: string): string {
  const digest = hmac(appSecret, `code|${groupId}|${linkNonce}`);
  let code = '';
  let bits = 0;
  let buffer = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && code.length < JOIN_CODE_LENGTH) {
      code += CROCKFORD_ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1; // keep only the unread bits so the number never overflows
    if (code.length === JOIN_CODE_LENGTH) break;
  }
  return code;
}

/** `ABCDEFGHJK` -> `ABCDE-FGHJK`, easier to read out and type. */
export function formatJoinCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/**
 * The canonical code from what a person typed: any case, with or without the dash or spaces, and with the
 * look-alikes Crockford folds (O -> 0, I and L -> 1). Undefined when it cannot be a join code.
 */
export function normalizeJoinCode(input: string): string | undefined {
  const folded = input.trim().toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (folded.length !== JOIN_CODE_LENGTH) return undefined;
  for (const ch of folded) if (!CROCKFORD_ALPHABET.includes(ch)) return undefined;
  return folded;
}

/** What is stored: hex SHA-256 of the canonical value, with the kind mixed in so tokens and codes never meet. */
export function hashInviteSecret(kind: InviteReference['kind'], value: string): string {
  return createHash('sha256').update(`${kind}|${value}`, 'utf8').digest('hex');
}

/**
 * Reads what a person pasted or typed: a full link `<publicUrl>/join/<token>`, a bare token, or a join code.
 * Links to another host are refused rather than guessed at: they cannot be this server's invites.
 */
export function parseInviteReference(input: string, publicUrl: string): InviteReference | undefined {
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  if (text.length === 0 || text.length > 2048) return undefined;

  if (/^https?:\/\//i.test(text)) return parseInviteLink(text, publicUrl);
  if (TOKEN_SHAPE.test(text)) return { kind: 'token', value: text };
  const code = normalizeJoinCode(text);
  return code ? { kind: 'code', value: code } : undefined;
}

/**
 * Text that can only be meant as an invite: a link (to any host: a wrong host gets "not valid", it is never a
 * chat line), a bare token, or a join code written as shown (`ABCDE-FGHJK`). A code without its dash is left out
 * on purpose: "the meeting" folds into a valid-looking code.
 */
export function isUnmistakablyInvite(input: string): boolean {
  const text = input.trim();
  return (
    /^https?:\/\/\S+$/i.test(text) ||
    TOKEN_SHAPE.test(text) ||
    (/^[0-9a-z]{5}-[0-9a-z]{5}$/i.test(text) && normalizeJoinCode(text) !== undefined)
  );
}

function parseInviteLink(text: string, publicUrl: string): InviteReference | undefined {
  let link: URL;
  let base: URL;
  try {
    link = new URL(text);
    base = new URL(publicUrl);
  } catch {
    return undefined;
  }
  if (link.host.toLowerCase() !== base.host.toLowerCase()) return undefined;
  const basePath = base.pathname.replace(/\/+$/, '');
  const match = link.pathname.match(/^(.*)\/join\/([A-Za-z0-9_-]+)\/?$/);
  if (!match || match[1] !== basePath || !TOKEN_SHAPE.test(match[2]!)) return undefined;
  return { kind: 'token', value: match[2]! };
}

export function inviteUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/join/${token}`;
}
