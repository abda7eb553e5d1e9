/**
 * Checks a card the way a client would parse it, in plain Node (no DOM): the `adaptivecards` package parses the
 * JSON at target version 1.5 (what Teams renders) and validates the object model; every parse or validation
 * event is a problem. Also checks the serialized size: Teams rejects message payloads over 28 KB, so a card
 * must stay well under it.
 */
import * as AC from 'adaptivecards';
import type { Attachment } from 'botbuilder';

/** Teams' limit for a message (the card plus the activity envelope); cards must stay below it. */
export const MAX_CARD_BYTES = 28 * 1024;

function describe(event: AC.IValidationEvent): string {
  return `${AC.ValidationPhase[event.phase]}/${AC.ValidationEvent[event.event]}: ${event.message}`;
}

/** The problems found in a card (JSON object or an Attachment holding one); `[]` when it is fine. */
export function validateCard(json: unknown): string[] {
  const content = isAttachment(json) ? json.content : json;
  const problems: string[] = [];

  if (typeof content !== 'object' || content === null) return ['The card is not a JSON object.'];
  const bytes = Buffer.byteLength(JSON.stringify(content), 'utf8');
  if (bytes >= MAX_CARD_BYTES) problems.push(`Size: the card is ${bytes} bytes; it must stay under ${MAX_CARD_BYTES}.`);

  const context = new AC.SerializationContext(AC.Versions.v1_5);
  const card = new AC.AdaptiveCard();
  card.parse(content, context);
  for (let i = 0; i < context.eventCount; i++) problems.push(describe(context.getEventAt(i)));
  for (const event of card.validateProperties().validationEvents) problems.push(describe(event));
  return problems;
}

/** The card's serialized size in bytes (UTF-8). */
export function cardBytes(json: unknown): number {
  const content = isAttachment(json) ? json.content : json;
  return Buffer.byteLength(JSON.stringify(content), 'utf8');
}

function isAttachment(value: unknown): value is Attachment {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { contentType?: unknown }).contentType === 'application/vnd.microsoft.card.adaptive'
  );
}
