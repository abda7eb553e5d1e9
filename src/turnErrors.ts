import { ActivityTypes, type TurnContext } from 'botbuilder';
import { isAppError } from './errors';
import type { Logger } from './logger';

export const APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment.";

/**
 * The one place an unexpected error of a turn ends: logged with the activity id (never the activity's token
 * or text), and the user gets a short apology, never a stack or the SDK's "fix the bot source code".
 */
export function createTurnErrorHandler(logger: Logger) {
  return async (context: TurnContext, error: Error): Promise<void> => {
    const activity = context.activity;
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
      const body =
        activity.name === 'adaptiveCard/action'
          ? { statusCode: 500, type: 'application/vnd.microsoft.error', value: { code: 'InternalError', message: APOLOGY } }
          : undefined;
      await context
        .sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: body ? 200 : 500, body } })
        .catch(() => undefined);
      return;
    }
    await safeSend(context, APOLOGY, logger);
  };
}

async function safeSend(context: TurnContext, text: string, logger: Logger): Promise<void> {
  try {
    await context.sendActivity(text);
  } catch (err) {
    logger.warn({ err: (err as Error).message, activityId: context.activity.id }, 'could not send the apology');
  }
}
