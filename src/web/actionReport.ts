/**
 * The CSV report of an announcement or a poll (issue 19): each current member, whether and when they answered,
 * and in a named poll what they chose. An anonymous poll's report has participation only: no stored row knows
 * more. Downloaded through a signed link, as the exports are; the permission (admins and the creator) is checked
 * again when the file is made.
 */
import type { Request, Response, Server } from 'restify';
import type { ActionService } from '../actions/actionService';
import { isAppError } from '../errors';
import type { Logger } from '../logger';
import { csvCell } from './groupExport';
import type { UrlSigner } from './signedUrls';

const REPORT_PATH = '/downloads/action-report.csv';
const REPORT_TTL_SECONDS = 60 * 60;

export function actionReportLinks(signer: UrlSigner) {
  return (groupId: string, actionId: string, user: { id: string; name: string }): string =>
    signer.sign(REPORT_PATH, { group: groupId, action: actionId, by: user.id, byName: user.name }, REPORT_TTL_SECONDS);
}

/** The report's text: a header row, then one row per member (formula-safe cells). */
export async function actionReportCsv(
  actions: ActionService,
  groupId: string,
  actionId: string,
  user: { id: string; name: string },
): Promise<string> {
  const action = await actions.get(groupId, actionId, user);
  const rows = [['member', 'member_id', action.kind === 'poll' ? 'voted' : 'confirmed', 'at', 'choices'].join(',')];
  for await (const member of actions.report(groupId, actionId, user)) {
    const choices = action.kind === 'poll' && member.choices ? member.choices.map((c) => action.options[c] ?? '').join('; ') : '';
    rows.push([member.name, member.id, member.at ? 'yes' : 'no', member.at ?? '', choices].map((c) => csvCell(c)).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

export function actionReportRoutes(deps: { actions: ActionService; signer: UrlSigner; logger: Logger }) {
  return (server: Server): void => {
    server.get(REPORT_PATH, async (req: Request, res: Response) => {
      const verdict = deps.signer.verify(REPORT_PATH, req.query as Record<string, string>);
      if (!verdict.ok) {
        res.status(verdict.reason === 'expired' ? 410 : 403);
        res.json({
          error:
            verdict.reason === 'expired'
              ? 'This download link has expired. Open the card again for a new one.'
              : 'This download link is not valid.',
        });
        return;
      }
      const { group, action, by, byName } = verdict.params;
      try {
        const body = await actionReportCsv(deps.actions, group!, action!, { id: by!, name: byName ?? '' });
        res.writeHead(200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="report-${action}.csv"`,
          'Cache-Control': 'no-store',
        });
        res.end(body);
      } catch (err) {
        if (!isAppError(err)) throw err;
        res.status(err.code === 'not_found' ? 404 : 403);
        res.json({ error: err.userMessage });
      }
    });
  };
}
