import type { DeliveryEngine } from '../../delivery/ports';
import type { ImportReporter, JobRun } from '../../import/importJobs';
import { markdownSafe } from '../handlers/groupActions';
import { recipientOf } from './joinNotices';

/**
 * How an import confirmed in the personal chat ended, told in that chat once the job is done (issue 20): the
 * turn that confirmed it only said it started. Through the delivery engine's one-off sends (the tenant's budget,
 * and once per key however often a resumed job ends).
 */
export class ImportNotices implements ImportReporter {
  constructor(private readonly engine: Pick<DeliveryEngine, 'sendOneOff'>) {}

  async ended(...[order, run]: Parameters<ImportReporter['ended']>): Promise<void> {
    const recipient = recipientOf(order.actor.userId, order.report.to);
    if (!recipient) return;
    await this.engine.sendOneOff(`import|${order.report.key}`, recipient, { type: 'message', text: importEndedText(run) });
  }
}

/** The admin's chat line when an import confirmed there ended. */
export function importEndedText(run: Exclude<JobRun, { kind: 'elsewhere' }>): string {
  if (run.kind === 'refused') return `The import was not done: ${run.message}`;
  const { outcome } = run;
  const group = `**${markdownSafe(outcome.groupName)}**`;
  if (!outcome.created) return `This chat was imported into ${group} before. Nothing was imported again.`;
  return `Imported ${outcome.record.count.toLocaleString('en-US')} earlier messages into ${group}. The group got one post about it; type \`history\` to read them.`;
}
