import type { CloudAdapter, TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { Logger } from '../logger';
import { activityShapeProblem } from './activityShape';
import { processAuthenticated, type ChannelGate } from '../auth/channelAuth';

/**
 * POST /api/messages: a malformed activity from an authenticated caller is refused with a 400 in words; anything
 * else goes through channel authentication to the bot's turn.
 */
export function messagesEndpoint(deps: {
  adapter: CloudAdapter;
  gate: ChannelGate;
  logger: Logger;
  bot: { run(context: TurnContext): Promise<void> };
}): (req: Request, res: Response) => Promise<void> {
  const { adapter, gate, logger, bot } = deps;
  return async (req, res) => {
    const problem = gate(req.headers.authorization).ok ? activityShapeProblem(req.body) : undefined;
    if (problem !== undefined) {
      // One line, no stack, no field values: a malformed activity is the caller's mistake, not ours.
      logger.warn(
        { field: problem, activityType: typeof req.body?.type === 'string' ? req.body.type.slice(0, 64) : undefined },
        'activity refused: a field has the wrong type',
      );
      res.status(400);
      res.json({ error: `The request is not a Bot Framework activity (${problem}).` });
      return;
    }
    await processAuthenticated({ adapter, gate, logger }, req, res, (context: TurnContext) => bot.run(context));
  };
}
