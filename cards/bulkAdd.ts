/**
 * Bulk add from chat (issue 18): the box for a pasted list, and the dry run's answer with its Add button. The
 * addresses are the admin's own typing; on the dry run card they are shown in TextRuns (never Markdown) and
 * travel back in the Add button's data, so the job is planned from the very list that was checked.
 */
import type { Attachment } from 'botbuilder';
import { button } from './actions';
import { paragraph, plural, richHeading } from './layout';
import { adaptiveCard, toAttachment, type CardAction, type CardElement } from './schema';
import { inline, richText, run } from './text';

export const ADDRESSES_INPUT = 'addresses';
export const ADD_LEAVERS_INPUT = 'addLeavers';
/** Rows the dry run card lists; the rest are counted ("and 12 more"). */
export const PLAN_ROWS_SHOWN = 25;
/** Under the 4,096 characters a button's data field may carry back (cards/verbs.ts). */
const MAX_LIST_CHARS = 4000;

export interface AddPeopleCardData {
  groupId: string;
  groupName: string;
  /** At most this many addresses (the chat's box; files go elsewhere). */
  maxAddresses: number;
}

/** `add people [group]`: a box for the addresses, "add people who left", and Check the list. */
export function buildAddPeopleCard(data: AddPeopleCardData): Attachment {
  const body: CardElement[] = [
    richHeading('Add people to ', data.groupName),
    paragraph(
      `Paste up to ${data.maxAddresses} work email addresses, one a line or separated by commas. You see what would happen before anyone is added. For more, or a CSV file, use Add people in the My groups tab.`,
      { isSubtle: true, spacing: 'None' },
    ),
    {
      type: 'Input.Text',
      id: ADDRESSES_INPUT,
      label: 'Addresses',
      placeholder: 'ann@contoso.com\nbob@contoso.com',
      isMultiline: true,
      isRequired: true,
      errorMessage: 'Paste at least one address.',
      maxLength: MAX_LIST_CHARS,
    },
    {
      type: 'Input.Toggle',
      id: ADD_LEAVERS_INPUT,
      title: 'Add people who left',
      value: 'false',
      valueOn: 'true',
      valueOff: 'false',
      wrap: true,
    },
  ];
  return toAttachment(
    adaptiveCard(
      body,
      [
        button('Check the list', 'checkBulkList', { groupId: data.groupId }, { style: 'positive' }),
        button('Cancel', 'cancel', {}, { associatedInputs: 'none' }),
      ],
      `Add people to ${inline(data.groupName)}`,
    ),
  );
}

export interface BulkPlanCardData {
  groupId: string;
  groupName: string;
  /** Each outcome that occurs, in the bot's words ('will add', 'already a member'), with how many rows. */
  counts: ReadonlyArray<{ label: string; count: number }>;
  /** Every row in line order: what was typed and what would happen. */
  rows: ReadonlyArray<{ raw: string; reason: string }>;
  toAdd: number;
  /** The list as checked, and the toggle: the Add button carries them. */
  addresses: string;
  addLeavers: boolean;
}

/** The dry run: counts, the rows with their reasons, and Add N people when there is anyone to add. */
export function buildBulkPlanCard(data: BulkPlanCardData): Attachment {
  const body: CardElement[] = [
    richHeading('Check: ', data.groupName),
    paragraph('Nothing has changed yet.', { isSubtle: true, spacing: 'None' }),
    richText(
      data.counts.flatMap((c, i) => [run(`${i > 0 ? ' · ' : ''}${c.label}: `), run(String(c.count), { weight: 'Bolder' })]),
      { spacing: 'Medium' },
    ),
  ];
  data.rows.slice(0, PLAN_ROWS_SHOWN).forEach((row, index) => {
    body.push(
      richText([run(row.raw, { weight: 'Bolder' }, 100), run(` — ${ownWords(row.reason)}`, { isSubtle: true }, 300)], {
        spacing: index === 0 ? 'Medium' : 'None',
      }),
    );
  });
  if (data.rows.length > PLAN_ROWS_SHOWN) body.push(paragraph(`and ${data.rows.length - PLAN_ROWS_SHOWN} more`, { isSubtle: true }));
  const actions: CardAction[] = [];
  if (data.toAdd > 0) {
    actions.push(
      button(
        `Add ${plural(data.toAdd, 'person', 'people')}`,
        'confirmBulkAdd',
        { groupId: data.groupId, [ADDRESSES_INPUT]: data.addresses.slice(0, MAX_LIST_CHARS), [ADD_LEAVERS_INPUT]: data.addLeavers },
        { style: 'positive' },
      ),
    );
  } else {
    body.push(paragraph('Nobody on this list can be added.', { spacing: 'Medium' }));
  }
  actions.push(button('Cancel', 'cancel', {}, { associatedInputs: 'none' }));
  return toAttachment(adaptiveCard(body, actions, `Check: ${inline(data.groupName)}. ${data.toAdd} to add.`));
}

/** The dry run's reasons name commands in backticks for plain messages; a TextRun would show the backticks. */
function ownWords(reason: string): string {
  return reason.replace(/`/g, '');
}

export interface BulkProgressCardData {
  groupNames: readonly string[];
  done: number;
  total: number;
  /** The job is over: the report follows in the chat. */
  finished: boolean;
}

/** A job's progress in the admin's chat: one card, updated in place (at most every few seconds). */
export function buildBulkProgressCard(data: BulkProgressCardData): Attachment {
  const names = data.groupNames.slice(0, 5);
  const more = data.groupNames.length - names.length;
  const body: CardElement[] = [
    richHeading(
      ...names.flatMap((name, i) => [i === 0 ? (data.finished ? 'Done: adding people to ' : 'Adding people to ') : ', ', name]),
      more > 0 ? ` and ${more} more` : '',
    ),
    paragraph(`${data.done.toLocaleString('en-US')} of ${data.total.toLocaleString('en-US')} ${data.total === 1 ? 'row' : 'rows'} done.`, {
      spacing: 'Small',
    }),
    paragraph(data.finished ? 'The report follows.' : 'This card shows how far it is, every few seconds.', {
      isSubtle: true,
      spacing: 'None',
    }),
  ];
  return toAttachment(adaptiveCard(body, [], `${data.finished ? 'Done' : 'Adding people'}: ${data.done} of ${data.total}`));
}
