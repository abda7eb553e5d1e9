import assert from 'node:assert/strict';
import { decideMessage, type CommandResolver, type MessageDecision } from '../../src/groups/messageRule';
import { COMMANDS, COMMAND_VOCABULARY } from '../../src/teams/input/commands';

/**
 * A member in "Field Sales North" (current) and "Night Shift", with Ann Lee (admin), Bob and Olga (admin) in
 * Field Sales North, Carl removed from it; "Night Shift" is also a group of the member's organization.
 */
const resolver: CommandResolver = {
  isValidInvite: async (rest) => rest === 'ABCDE-FGHJK' || rest.startsWith('https://bot.example/join/'),
  isMyGroup: async (name) => ['field sales north', 'night shift'].includes(name.toLowerCase()),
  isMember: async (member, group) =>
    (group === undefined || group.toLowerCase() === 'field sales north') && ['ann lee', 'bob', 'olga'].includes(member.toLowerCase()),
  isAdmin: async (member, group) =>
    (group === undefined || group.toLowerCase() === 'field sales north') && ['ann lee', 'olga'].includes(member.toLowerCase()),
  isRemoved: async (member, group) =>
    (group === undefined || group.toLowerCase() === 'field sales north') && member.toLowerCase() === 'carl',
  isOrgGroup: async (name) => ['night shift', 'depot west'].includes(name.toLowerCase()),
};

const decide = (text: string) => decideMessage(text, COMMAND_VOCABULARY, resolver);
const isCommand = async (text: string) => (await decide(text)).kind === 'command';

describe('the command-vs-post rule for a member with a current group', () => {
  for (const text of [
    'help me with the order',
    'join us at 5',
    'new group is ready',
    'Hello everyone',
    'members meeting at 5',
    'invite Bob to lunch',
    'settings are wrong',
    'mute the radio',
    'switch off the lights',
    'group photo tomorrow',
    'history of the order',
    'open the door',
    'leave it to me',
    'poster is printed',
    'my groups are busy',
    'cancel the truck',
    'stop the line',
    'org groups meet on Friday',
  ]) {
    it(`takes "${text}" as a post`, async () => {
      assert.deepEqual(await decide(text), { kind: 'post' });
    });
  }

  describe('every command of the handler table, typed alone', () => {
    // Taken from the table itself: a command added there is a command here, never born a post.
    for (const command of COMMANDS) {
      for (const words of [command.phrase, ...command.aliases]) {
        // "?" (help) is punctuation itself; every other phrase also ends in "?", "!" or ".".
        const punctuated = /\w/.test(words) ? [`${words}?`, ` ${words}! `, `${words}.`] : [];
        const variants = [words, `/${words}`, words.toUpperCase(), ...punctuated];
        it(`takes "${words}" (also with /, in capitals, with trailing punctuation) as the ${command.name} command`, async () => {
          for (const text of variants) assert.equal(await isCommand(text), true, text);
        });
      }
    }
  });

  for (const text of ['/new group Order Desk', '/help me', '/anything at all', '/ join us', '/invte']) {
    it(`takes "${text}" (starts with /) as a command`, async () => {
      assert.equal(await isCommand(text), true);
    });
  }

  for (const text of [
    'join ABCDE-FGHJK',
    'join https://bot.example/join/abc',
    'invite Night Shift',
    'group field sales north',
    'open Night Shift',
    'members Night Shift',
    'history Night Shift',
    'leave Night Shift',
    'poster Night Shift',
    'email Night Shift',
    'reset link Night Shift',
    'add to organization Night Shift',
    'add people Night Shift',
    'settings Night Shift',
    'mute Night Shift',
    'unmute Night Shift',
    'remove Bob',
    'remove Bob from Field Sales North',
    'remove Zed from Depot West',
    'make admin Bob',
    'make admin Bob in Field Sales North',
    'remove admin Olga',
    'remove admin Ann Lee in Field Sales North',
    'allow Carl',
    'allow Carl in Field Sales North',
    'export Night Shift',
  ]) {
    it(`takes "${text}" (command word + something that resolves) as a command`, async () => {
      assert.equal(await isCommand(text), true);
    });
  }

  describe("an admin's word whose rest does not resolve: never a post unasked, and what was missing", () => {
    const cases: Array<[string, MessageDecision]> = [
      ['remove the boxes from the van', { kind: 'notFound', missing: 'group', name: 'the van' }],
      ['remove Carol', { kind: 'notFound', missing: 'member', name: 'Carol' }],
      ['remove Carol from Night Shift', { kind: 'notFound', missing: 'member', name: 'Carol', groupName: 'Night Shift' }],
      ['remove admin Bob', { kind: 'notFound', missing: 'admin', name: 'Bob' }],
      ['make admin the new guy', { kind: 'notFound', missing: 'member', name: 'the new guy' }],
      ['allow Bob', { kind: 'notFound', missing: 'removed', name: 'Bob' }],
      ['allow me to explain', { kind: 'notFound', missing: 'removed', name: 'me to explain' }],
      ['reset link for the printer', { kind: 'notFound', missing: 'group', name: 'for the printer' }],
      ['add to organization chart', { kind: 'notFound', missing: 'group', name: 'chart' }],
      ['export the report', { kind: 'notFound', missing: 'orgGroup', name: 'the report' }],
      ['add people to the list', { kind: 'notFound', missing: 'group', name: 'to the list' }],
    ];
    for (const [text, expected] of cases) {
      it(`answers "${text}" with what it could not find`, async () => {
        assert.deepEqual(await decide(text), expected);
      });
    }
  });

  it('takes a sentence word whose rest does not resolve as a post (a join code that is not valid, a group that is not yours)', async () => {
    assert.deepEqual(await decide('join ZZZZZ-ZZZZZ'), { kind: 'post' });
    assert.deepEqual(await decide('invite Depot West'), { kind: 'post' });
    assert.deepEqual(await decide('leave Depot West'), { kind: 'post' });
  });
});
