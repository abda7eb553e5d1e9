import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ConversationState,
  MemoryStorage,
  type Activity,
  type Attachment,
  type Middleware,
  type StoreItems,
  type TurnContext,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus } from 'botbuilder-dialogs';
import { DialogTestClient } from 'botbuilder-testing';
import sharp from 'sharp';
import { GroupService } from '../../src/groups/groupService';
import { MemoryGroupStore } from '../../src/storage/memoryGroupStore';
import { GroupPhotoIntake } from '../../src/web/groupPhotoIntake';
import { GROUP_NAME_INPUT, GROUP_PHOTO_INPUT } from '../../cards/createGroupPrompts';
import { CreateGroupDialog, type CreateGroupOptions } from '../../dialogs/createGroupDialog';
import { createGroupAndShow } from '../../src/teams/handlers/groupCreation';
import { GroupActions } from '../../src/teams/handlers/groupActions';
import { assertValidCard, literalTexts, markdownTexts } from '../cards/cardTestKit';

const OWNER = { id: 'user-olga', name: 'Olga Owner', aadObjectId: '0a1b2c3d-0000-4000-8000-00000000a11a' };

/** What one turn's answer shows: the texts and the cards' texts of every activity the bot sent. */
type Answer = Array<Partial<Activity>>;

function shown(answer: Answer): string {
  assert.ok(answer.length, 'the bot answered');
  return answer
    .flatMap((a) => [a.text ?? '', ...(a.attachments ?? []).flatMap((c: Attachment) => [...markdownTexts(c), ...literalTexts(c)])])
    .join('\n');
}

/** The answer's one card, valid for Teams. */
function cardOf(answer: Answer): Attachment {
  assert.equal(answer.length, 1, 'one activity');
  const card = answer[0]?.attachments?.[0];
  assert.ok(card, 'the answer is a card');
  assertValidCard(card);
  return card;
}

/** Sends one activity and collects everything the bot sent in that turn. */
async function turn(c: DialogTestClient, activity: Partial<Activity>): Promise<Answer> {
  const answer: Answer = [];
  for (let next = await c.sendActivity(activity); next; next = c.getNextReply()) answer.push(next);
  return answer;
}

/**
 * "new group" on its own: the real dialog over the in-memory group store, the real photo intake (inline pictures
 * need no network) and the real last step that creates the group and shows it.
 */
describe('CreateGroupDialog (new group: the name, an optional photo, then the group)', () => {
  let store: MemoryGroupStore;
  let groups: GroupService;
  let dialog: CreateGroupDialog;
  let png: Buffer;

  before(async () => {
    png = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 20, g: 120, b: 220 } } })
      .png()
      .toBuffer();
  });

  beforeEach(() => {
    store = new MemoryGroupStore();
    groups = new GroupService({ store, appSecret: randomBytes(24).toString('hex'), publicUrl: 'https://bot.example' });
    const actions = new GroupActions({ groups, notices: { memberJoined: () => undefined }, publicUrl: 'https://bot.example' });
    dialog = new CreateGroupDialog({ photos: new GroupPhotoIntake(), create: createGroupAndShow(groups, actions) });
  });

  const client = (options: CreateGroupOptions = {}, middlewares: Middleware[] = []) =>
    new DialogTestClient('msteams', dialog, options, middlewares);
  const say = (text: string, extra: Partial<Activity> = {}): Partial<Activity> => ({ type: 'message', text, from: OWNER, ...extra });
  const click = (value: Record<string, unknown>): Partial<Activity> => ({ type: 'message', value, from: OWNER });
  const myGroups = async () => (await groups.listMyGroups(OWNER.aadObjectId)).items;

  /** Starts the dialog and answers the name; returns the photo question. */
  async function named(c: DialogTestClient, name: string): Promise<Answer> {
    await turn(c, say('new group'));
    return turn(c, say(name));
  }

  it('asks for the name, then for a photo, and creates the group from the answers', async () => {
    const c = client();
    const askName = await turn(c, say('new group'));
    assert.match(shown(askName), /What is the group called\?/);
    cardOf(askName);
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);

    const askPhoto = await turn(c, say('Field Sales North'));
    assert.match(shown(askPhoto), /A photo for/);
    assert.match(shown(askPhoto), /Field Sales North/);
    cardOf(askPhoto);
    assert.deepEqual(await myGroups(), [], 'nothing is written before the last answer');

    const ready = await turn(c, say('skip'));
    assert.match(shown(ready), /Your group \*\*Field Sales North\*\* is ready/);
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.complete);
    const [mine] = await myGroups();
    assert.equal(mine?.group.name, 'Field Sales North');
    assert.equal(mine?.role, 'admin');
    assert.equal(mine?.group.photo, undefined);
  });

  it('skips the name question when "new group <name>" already gave a good name', async () => {
    const c = client({ name: '  Night Shift ' });
    const askPhoto = await turn(c, say('new group Night Shift'));
    assert.match(shown(askPhoto), /A photo for/);
    await turn(c, click({ verb: 'skipPhoto' }));
    assert.deepEqual(
      (await myGroups()).map((g) => g.group.name),
      ['Night Shift'],
    );
  });

  it('asks for the name with the problem shown and the name kept when "new group <name>" gave a name that cannot be used', async () => {
    const tooLong = 'x'.repeat(101);
    const askName = await turn(client({ name: tooLong }), say(`new group ${tooLong}`));
    const card = cardOf(askName);
    assert.match(shown(askName), /at most 100 characters/);
    assert.ok(
      literalTexts(card).some((value) => value.startsWith('x'.repeat(90))),
      'the name the user gave is in the input, to correct',
    );
  });

  it('says what is wrong with a name that cannot be used, once, and takes the corrected one', async () => {
    const c = client();
    await turn(c, say('new group'));
    const refused = await turn(c, say('\u202Eevil'));
    assert.match(shown(refused), /text-direction control characters/);
    assert.equal(refused.length, 1, 'the problem card is the retry: no second copy of the question');
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);
    assert.match(shown(await turn(c, say('Good Name'))), /A photo for/);
  });

  it('answers an Action.Execute click on the question card the same way: the problem once, then the next question', async () => {
    const execute = (data: Record<string, unknown>): Partial<Activity> => ({
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'createGroup', data }, trigger: 'manual' },
      from: OWNER,
    });
    const c = client();
    await turn(c, say('new group'));
    const refused = await turn(c, execute({ step: 'name', [GROUP_NAME_INPUT]: '   ' }));
    assert.match(shown(refused), /Please type a name for the group\./);
    assert.equal(refused.length, 1, 'the problem card is the retry: no second copy of the question');
    assert.match(shown(await turn(c, execute({ step: 'name', [GROUP_NAME_INPUT]: 'Clicked Name' }))), /A photo for/);
  });

  it('asks again with the same card when an answer carries nothing, and stores each question card once', async () => {
    const written: string[] = [];
    const storage = new (class extends MemoryStorage {
      override async write(changes: StoreItems): Promise<void> {
        written.push(JSON.stringify(changes));
        await super.write(changes);
      }
    })();
    const c = new DialogTestClient('msteams', dialog, {}, [], new ConversationState(storage));
    const askName = await turn(c, say('new group'));
    // The state a dialog turn writes (and the next one reads) holds the question, not a second copy for the retry.
    assert.equal(written.at(-1)!.split('"AdaptiveCard"').length - 1, 1);
    assert.deepEqual(cardOf(await turn(c, say(''))), cardOf(askName), 'the name question again');
    const askPhoto = await turn(c, say('Empty Answers'));
    assert.equal(written.at(-1)!.split('"AdaptiveCard"').length - 1, 1);
    assert.deepEqual(cardOf(await turn(c, say(''))), cardOf(askPhoto), 'the photo question again');
    await turn(c, say('skip'));
    assert.deepEqual(
      (await myGroups()).map((g) => g.group.name),
      ['Empty Answers'],
    );
  });

  it('takes the answers from the question cards’ buttons (Next with the typed inputs)', async () => {
    const c = client();
    await turn(c, say('new group'));
    assert.match(shown(await turn(c, click({ verb: 'createGroup', step: 'name', [GROUP_NAME_INPUT]: 'Card Answers' }))), /A photo for/);
    await turn(c, click({ verb: 'createGroup', step: 'photo', [GROUP_PHOTO_INPUT]: '' }));
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.complete, 'Next with an empty photo link is the same as Skip');
    assert.deepEqual(
      (await myGroups()).map((g) => [g.group.name, g.group.photo]),
      [['Card Answers', undefined]],
    );
  });

  it('keeps a picture attached to the answer as the group photo', async () => {
    const c = client();
    await named(c, 'With Photo');
    await turn(
      c,
      say('', {
        attachments: [{ contentType: 'image/png', contentUrl: `data:image/png;base64,${png.toString('base64')}`, name: 'team.png' }],
      }),
    );
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.complete);
    const [mine] = await myGroups();
    assert.ok(mine?.group.photo, 'the group has a photo');
    const stored = await groups.getPhoto(mine.group.id);
    assert.equal((await sharp(stored.bytes).metadata()).width, 192, 'a small copy, never the original');
  });

  it('says why a photo link cannot be used and asks again; Skip then creates the group without a photo', async () => {
    const c = client();
    await named(c, 'Bad Link');
    const refused = await turn(c, say('https://127.0.0.1/admin.png'));
    assert.match(shown(refused), /Try another link, attach a picture, or choose Skip\./);
    assert.deepEqual(await myGroups(), []);
    assert.equal(c.dialogTurnResult.status, DialogTurnStatus.waiting);
    await turn(c, click({ verb: 'skipPhoto' }));
    assert.deepEqual(
      (await myGroups()).map((g) => [g.group.name, g.group.photo]),
      [['Bad Link', undefined]],
    );
  });

  it('creates nothing when cancelled before the last answer', async () => {
    // What src/teams/conversation.ts does with Cancel: it ends the running dialog before the dialog sees the click.
    const cancel: Middleware = {
      async onTurn(context: TurnContext, next: () => Promise<void>) {
        if ((context.activity.value as { verb?: string } | undefined)?.verb !== 'cancel') return next();
        const dc = await new DialogSet(c.conversationState.createProperty('DialogState')).add(dialog).createContext(context);
        await dc.cancelAllDialogs();
        await context.sendActivity('Cancelled. Nothing was created.');
      },
    };
    const c = client({}, [cancel]);
    await named(c, 'Never Made');
    assert.match(shown(await turn(c, click({ verb: 'cancel' }))), /Nothing was created/);
    assert.deepEqual(await myGroups(), []);
    assert.match(shown(await turn(c, say('new group'))), /What is the group called\?/, 'the next start asks afresh');
  });

  it('starts afresh with the name question after a group was created, and a second group is a new group', async () => {
    const c = client();
    await named(c, 'First');
    await turn(c, say('skip'));
    assert.match(shown(await turn(c, say('new group'))), /What is the group called\?/);
    await turn(c, say('Second'));
    await turn(c, say('no photo'));
    assert.deepEqual((await myGroups()).map((g) => g.group.name).sort(), ['First', 'Second']);
  });
});
