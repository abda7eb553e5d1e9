import { ActivityTypes, type TurnContext } from 'botbuilder';
import { isAppError, storageUnavailableIn, STORAGE_UNAVAILABLE } from '../errors';
import type { Logger } from '../logger';

export const APOLOGY = 'Sorry, something went wrong on our side. Please try again in a moment.';

/**
 * The one place an unexpected error of a turn ends: logged with the activity id (never the activity's token
 * or text), and the user gets a short apology, never a stack or the SDK's "fix the bot source code".
 */
export function createTurnErrorHandler(logger: Logger) {
  return async (context: TurnContext, error: Error): Promise<void> => {
    const activity = context.activity;
    const storage = storageUnavailableIn(error);
    if (storage) {
      // Not a bug, and not the user's doing: one line, no stack, and "try again" in the chat or on the card.
      logger.warn(
        { activityId: activity.id, activityType: activity.type, activityName: activity.name, reason: storage.reason },
        'storage unavailable: turn answered "try again"',
      );
      if (activity.type === ActivityTypes.Invoke) {
        await sendInvokeError(context, 503, 'ServiceUnavailable', STORAGE_UNAVAILABLE);
        return;
      }
      await safeSend(context, STORAGE_UNAVAILABLE, logger);
      return;
    }
    if (isAppError(error)) {
      // A typed error that escaped a handler is still the user's to read.
      logger.warn({ activityId: activity.id, code: error.code }, 'typed error escaped a handler');
      await safeSend(context, error.userMessage, logger);
      return;
    }
    logger.error(
      {
        err: { type: error.name, message: error.message, stack: error.stack },
        activityId: activity.id,
        activityType: activity.type,
        activityName: activity.name,
        conversationType: activity.conversation?.conversationType,
      },
      'turn failed',
    );
    // An invoke's caller waits for an invoke response, not a message: a card click gets the apology as its
    // error response (Teams shows it on the card); any other invoke a bare 500.
    if (activity.type === ActivityTypes.Invoke) {
      await sendInvokeError(context, 500, 'InternalError', APOLOGY);
      return;
    }
    await safeSend(context, APOLOGY, logger);
  };
}

/**
 * An invoke's caller waits for an invoke response, not a message: a card click (adaptiveCard/action) gets the
 * words as its error response (Teams shows them on the card); any other invoke the bare status.
 */
async function sendInvokeError(context: TurnContext, status: number, code: string, message: string): Promise<void> {
  const body =
    context.activity.name === 'adaptiveCard/action'
      ? { statusCode: status, type: 'application/vnd.microsoft.error', value: { code, message } }
      : undefined;
  await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: body ? 200 : status, body } }).catch(() => undefined);
}

async function safeSend(context: TurnContext, text: string, logger: Logger): Promise<void> {
  try {
    await context.sendActivity(text);
  } catch (err) {
    logger.warn({ err: (err as Error).message, activityId: context.activity.id }, 'could not send the apology');
  }
}
