import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { heading, paragraph } from './layout';
import { adaptiveCard, toAttachment } from './schema';
import { richText, run, shown } from './text';

export interface HelpCommandEntry {
  /** How to type it, e.g. `new group [name]`. Shown literally (it contains brackets). */
  usage: string;
  description: string;
}

export interface HelpCardData {
  /** From the command table: `helpEntries()` in dialogs/commands.ts. */
  commands: readonly HelpCommandEntry[];
}

export function buildHelpCard(data: HelpCardData): Attachment {
  return toAttachment(
    adaptiveCard(
      [
        heading('What I can do'),
        paragraph(
          'Type a command (with or without "/"), or pick one from the menu. In a group chat or channel, mention me first.',
          { isSubtle: true },
        ),
        ...data.commands.map((c) =>
          richText([run(c.usage, { weight: 'Bolder', fontType: 'Monospace' }, 80), '  ', run(c.description, {}, 300)], {
            spacing: 'Small',
          }),
        ),
      ],
      [button('New group', 'createGroup', {}, { style: 'positive' }), button('My groups', 'myGroups')],
      'Commands: ' + data.commands.map((c) => shown(c.usage, 80)).join(', '),
    ),
  );
}
