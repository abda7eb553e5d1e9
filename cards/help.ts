import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { inline, richText, run } from './text';

export interface HelpCommandEntry {
  /** How to type it, e.g. `new group [name]`. Shown literally (it contains brackets). */
  usage: string;
  description: string;
}

export interface HelpCardData {
  /** From the command table: `helpEntries()` in src/teams/input/commands.ts. */
  commands: readonly HelpCommandEntry[];
}

export function buildHelpCard(data: HelpCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        heading('What I can do'),
        paragraph('Type a command (with or without "/"), or pick one from the menu. In a group chat or channel, mention me first.', {
          isSubtle: true,
        }),
        ...data.commands.map((c) =>
          richText([run(c.usage, { weight: 'Bolder', fontType: 'Monospace' }, 80), '  ', run(c.description, {}, 300)], {
            spacing: 'Small',
          }),
        ),
      ],
      [button('New group', 'createGroup', {}, { style: 'positive' }), button('My groups', 'myGroups')],
      'Commands: ' + data.commands.map((c) => inline(c.usage, 80)).join(', '),
    ),
  );
}

export interface ShortHelpCardData {
  /** From `helpTasks()` in src/teams/input/commands.ts. */
  tasks: ReadonlyArray<{ task: string; usages: readonly string[] }>;
}

/** `help`: a few lines grouped by task; "All commands" shows the full list with what each one does. */
export function buildShortHelpCard(data: ShortHelpCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        heading('What I can do'),
        paragraph(
          'Move a work group into Teams: create it, invite people, hand it to your organization. Type a command, or pick one from the menu.',
          {
            isSubtle: true,
          },
        ),
        ...data.tasks.map((t) =>
          richText(
            [
              run(`${t.task}: `, { weight: 'Bolder' }),
              ...t.usages.flatMap((usage, i) => [...(i > 0 ? [run(', ', {}, 4)] : []), run(usage, { fontType: 'Monospace' })]),
            ],
            { spacing: 'Small' },
          ),
        ),
      ],
      [
        button('New group', 'createGroup', {}, { style: 'positive' }),
        button('My groups', 'myGroups'),
        button('All commands', 'help', { details: true }),
      ],
      'What I can do: ' + data.tasks.map((t) => `${inline(t.task, 80)}: ${t.usages.map((u) => inline(u, 80)).join(', ')}`).join('; '),
    ),
  );
}
