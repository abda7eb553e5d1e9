import assert from 'node:assert/strict';
import { isCommandForMemberWithCurrentGroup, type CommandResolver } from '../../src/groups/messageRule';

/** A member in "Field Sales North" (current) and "Night Shift", with Ann Lee and Bob in Field Sales North. */
const resolver: CommandResolver = {
  isValidInvite: async (rest) => rest === 'ABCDE-FGHJK' || rest.startsWith('https://bot.example/join/'),
  isMyGroup: async (name) => ['field sales north', 'night shift'].includes(name.toLowerCase()),
  isMember: async (member, group) =>
    (group === undefined || group.toLowerCase() === 'field sales north') && ['ann lee', 'bob'].includes(member.toLowerCase()),
  isRemoved: async (member, group) =>
    (group === undefined || group.toLowerCase() === 'field sales north') && member.toLowerCase() === 'carl',
  isOrgGroup: async (name) => name.toLowerCase() === 'night shift',
};

const isCommand = (text: string) => isCommandForMemberWithCurrentGroup(text, resolver);

describe('the command-vs-post rule for a member with a current group', () => {
  for (const text of [
    'help me with the order',
    'join us at 5',
    'new group is ready',
    'Hello everyone',
    'members meeting at 5',
    'invite Bob to lunch',
    'remove the boxes from the van',
    'export the report',
    'settings are wrong',
    'mute the radio',
    'switch off the lights',
    'group photo tomorrow',
    'history of the order',
    'open the door',
    'allow Bob',
    'allow me to explain',
  ]) {
    it(`takes "${text}" as a post`, async () => {
      assert.equal(await isCommand(text), false);
    });
  }

  for (const text of [
    'help',
    'cancel',
    'my groups',
    'switch',
    'history',
    'members',
    'settings',
    'mute',
    'unmute',
    'new group',
    'HELP',
    '  My   Groups  ',
  ]) {
    it(`takes the argument-less command "${text}" as a command`, async () => {
      assert.equal(await isCommand(text), true);
    });
  }

  for (const text of ['/new group Order Desk', '/help me', '/anything at all', '/ join us']) {
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
    'settings Night Shift',
    'mute Night Shift',
    'unmute Night Shift',
    'remove Ann Lee',
    'remove Bob from Field Sales North',
    'make admin Ann Lee',
    'make admin Bob in Field Sales North',
    'allow Carl',
    'allow Carl in Field Sales North',
    'export Night Shift',
  ]) {
    it(`takes "${text}" (command word + something that resolves) as a command`, async () => {
      assert.equal(await isCommand(text), true);
    });
  }

  it('takes a command word whose rest does not resolve as a post (a join code that is not valid, a stranger)', async () => {
    assert.equal(await isCommand('join ZZZZZ-ZZZZZ'), false);
    assert.equal(await isCommand('remove Carol'), false);
    assert.equal(await isCommand('remove Ann Lee from Night Shift'), false);
    assert.equal(await isCommand('export Field Sales North'), false);
  });
});
