import type { DeliveryEngine } from '../delivery/ports';
import type { Group } from './model';

/** Runs work after the answer (src/teams/proactive.ts BackgroundWork). */
export interface AfterTheAnswer {
  run(description: string, work: () => Promise<void>): void;
}

/**
 * A removal from a group the organization owns also deletes what was delivered to that member (issue 10).
 * The deletions run after the answer (the removal is done; they go through the tenant's lane at Teams' pace).
 */
export function deleteCopiesIfOwned(deps: {
  groups: { getGroup(groupId: string): Promise<Group> };
  engine: Pick<DeliveryEngine, 'deleteCopiesFor'>;
  background: AfterTheAnswer;
}): (groupId: string, userId: string) => Promise<void> {
  return async (groupId, userId) => {
    deps.background.run("delete a removed member's copies", async () => {
      const group = await deps.groups.getGroup(groupId);
      if (group.tenantId) await deps.engine.deleteCopiesFor(groupId, userId);
    });
  };
}
