import assert from 'node:assert/strict';
import {
  COMMANDS,
  COMMAND_NAMES,
  MANIFEST_LIMITS,
  closestCommand,
  helpEntries,
  manifestCommandList,
  parseCommand,
  splitMemberAndGroup,
  type ParsedCommand,
} from '../../../src/teams/input/commands';

describe('src/teams/input/commands', () => {
  describe('parseCommand()', () => {
    const cases: Array<[string, ParsedCommand | undefined]> = [
      ['new group', { command: 'newGroup', args: '' }],
      ['new group Field team North', { command: 'newGroup', args: 'Field team North' }],
      ['create group Sales', { command: 'newGroup', args: 'Sales' }],
      ['newgroup Sales', { command: 'newGroup', args: 'Sales' }],
      ['my groups', { command: 'myGroups', args: '' }],
      ['group Sales', { command: 'groupInfo', args: 'Sales' }],
      ['group', { command: 'groupInfo', args: '' }],
      ['invite Sales', { command: 'invite', args: 'Sales' }],
      ['join https://groups.contoso.example/join/AbC', { command: 'join', args: 'https://groups.contoso.example/join/AbC' }],
      ['join K7Q-4MZ', { command: 'join', args: 'K7Q-4MZ' }],
      ['members', { command: 'members', args: '' }],
      ['leave Sales', { command: 'leave', args: 'Sales' }],
      ['remove Ann from Sales', { command: 'remove', args: 'Ann from Sales' }],
      ['make admin Ann', { command: 'makeAdmin', args: 'Ann' }],
      ['remove admin Ann in Sales', { command: 'removeAdmin', args: 'Ann in Sales' }],
      ['removeadmin Ann', { command: 'removeAdmin', args: 'Ann' }],
      ['remove Ann', { command: 'remove', args: 'Ann' }],
      ['invite?', { command: 'invite', args: '' }],
      ['Poster.', { command: 'poster', args: '' }],
      ['/reset link!', { command: 'resetLink', args: '' }],
      ['help?!', { command: 'help', args: '' }],
      ['reset link', { command: 'resetLink', args: '' }],
      ['add to organization Sales', { command: 'addToOrganization', args: 'Sales' }],
      ['add to org Sales', { command: 'addToOrganization', args: 'Sales' }],
      ['add people Sales', { command: 'addPeople', args: 'Sales' }],
      ['bulk add', { command: 'addPeople', args: '' }],
      ['org groups', { command: 'orgGroups', args: '' }],
      ['export Sales', { command: 'export', args: 'Sales' }],
      ['poster', { command: 'poster', args: '' }],
      ['email Sales', { command: 'email', args: 'Sales' }],
      ['help', { command: 'help', args: '' }],
      ['cancel', { command: 'cancel', args: '' }],
      ['allow Ann Lee in Sales', { command: 'allow', args: 'Ann Lee in Sales' }],
      ['let back in Ann', { command: 'allow', args: 'Ann' }],
      ['switch', { command: 'switch', args: '' }],
      ['switch Night Shift', { command: 'switch', args: 'Night Shift' }],
      ['open Sales', { command: 'open', args: 'Sales' }],
      ['history', { command: 'history', args: '' }],
      ['settings Sales', { command: 'settings', args: 'Sales' }],
      ['mute', { command: 'mute', args: '' }],
      ['unmute Sales', { command: 'unmute', args: 'Sales' }],
      ['imports Sales', { command: 'imports', args: 'Sales' }],
      ['announce Sales', { command: 'announce', args: 'Sales' }],
      ['new poll', { command: 'poll', args: '' }],
    ];
    for (const [text, expected] of cases) {
      it(`reads "${text}"`, () => assert.deepEqual(parseCommand(text), expected));
    }

    it('covers every command in the table', () => {
      const seen = new Set(cases.map(([, r]) => r?.command));
      for (const name of COMMAND_NAMES) assert.ok(seen.has(name), name);
    });

    it('accepts a leading slash', () => {
      assert.deepEqual(parseCommand('/new group Sales'), { command: 'newGroup', args: 'Sales' });
      assert.deepEqual(parseCommand('/ help'), { command: 'help', args: '' });
    });

    it('ignores case in the command but keeps it in the arguments', () => {
      assert.deepEqual(parseCommand('NEW Group Field Team'), { command: 'newGroup', args: 'Field Team' });
    });

    it('tolerates extra spaces, tabs, newlines and non-breaking spaces', () => {
      assert.deepEqual(parseCommand('  new \t group\n  Sales  '), { command: 'newGroup', args: 'Sales' });
      assert.deepEqual(parseCommand('new&nbsp;group&nbsp;Sales'), { command: 'newGroup', args: 'Sales' });
      assert.deepEqual(parseCommand('my\u00a0groups'), { command: 'myGroups', args: '' });
    });

    it("removes the bot's mention at the start in a group chat or channel", () => {
      assert.deepEqual(parseCommand('<at>Kaizala Groups</at> new group Sales'), { command: 'newGroup', args: 'Sales' });
      assert.deepEqual(parseCommand('<at>Kaizala Groups</at>&nbsp;/help'), { command: 'help', args: '' });
    });

    it("removes the bot's mention wherever it is when the bot's name is given", () => {
      assert.deepEqual(parseCommand('help <at>Kaizala Groups</at>', { botName: 'kaizala groups' }), { command: 'help', args: '' });
    });

    it("keeps other people's mentions as their names", () => {
      assert.deepEqual(parseCommand('<at>Kaizala Groups</at> remove <at>Ann Lee</at> from Sales', { botName: 'Kaizala Groups' }), {
        command: 'remove',
        args: 'Ann Lee from Sales',
      });
    });

    it('prefers the longest command: "my groups" is not "group"', () => {
      assert.equal(parseCommand('my groups')?.command, 'myGroups');
      assert.equal(parseCommand('group info Sales')?.command, 'groupInfo');
    });

    it('keeps trailing punctuation in arguments ("remove Dave." names "Dave."), and reads "?" as help', () => {
      assert.deepEqual(parseCommand('remove Dave.'), { command: 'remove', args: 'Dave.' });
      assert.deepEqual(parseCommand('?'), { command: 'help', args: '' });
      assert.deepEqual(parseCommand('invite people?'), { command: 'invite', args: '' });
      assert.deepEqual(parseCommand('join !!!'), { command: 'join', args: '!!!' });
    });

    it('needs a whole word: "helpful" is not "help"', () => {
      assert.deepEqual(parseCommand('helpful'), { command: 'unknown', text: 'helpful' });
    });

    it('calls anything else unknown, with the cleaned text', () => {
      assert.deepEqual(parseCommand('<at>Bot</at> hello   there'), { command: 'unknown', text: 'hello there' });
    });

    it('gives undefined for a message with no text left', () => {
      assert.equal(parseCommand(''), undefined);
      assert.equal(parseCommand('   '), undefined);
      assert.equal(parseCommand('<at>Kaizala Groups</at>'), undefined);
    });
  });

  describe('closestCommand()', () => {
    const cases: Array<[string, string | undefined]> = [
      ['/invte', 'invite'],
      ['/invte Night Shift', 'invite'],
      ['/jion ABCDE-FGHJK', 'join'],
      ['/memebrs', 'members'],
      ['/histroy', 'history'],
      ['/remov admin Ann', 'remove admin'],
      ['/my grups', 'my groups'],
      ['/hello', undefined],
      ['/xyz', undefined],
    ];
    for (const [typed, expected] of cases) {
      it(`suggests ${expected === undefined ? 'nothing' : `"${expected}"`} for "${typed}"`, () =>
        assert.equal(closestCommand(typed), expected));
    }
  });

  describe('splitMemberAndGroup()', () => {
    it('splits "remove <member> from <group>" at the last "from"', () => {
      assert.deepEqual(splitMemberAndGroup('Ann from Sales'), { member: 'Ann', group: 'Sales' });
      assert.deepEqual(splitMemberAndGroup('Ann From Accounts from Sales'), { member: 'Ann From Accounts', group: 'Sales' });
      assert.deepEqual(splitMemberAndGroup('Ann'), { member: 'Ann' });
    });
  });

  describe('the manifest command list', () => {
    const [list] = manifestCommandList();

    it('stays within the manifest limits: 10 commands, titles of 32 and descriptions of 128 characters', () => {
      assert.ok(list);
      assert.ok(list.commands.length <= MANIFEST_LIMITS.commandsPerScope);
      for (const c of list.commands) {
        assert.ok(c.title.length <= 32, c.title);
        assert.ok(c.description.length > 0 && c.description.length <= 128, c.description);
      }
    });

    it('uses titles that parse back to their commands when picked from the menu', () => {
      for (const c of list!.commands) assert.notEqual(parseCommand(c.title)?.command, 'unknown', c.title);
    });

    it('covers personal, team and group chat scopes', () => {
      assert.deepEqual(list!.scopes, ['personal', 'team', 'groupChat']);
    });
  });

  it('gives help for every command', () => {
    assert.equal(helpEntries().length, COMMANDS.length);
    assert.deepEqual(helpEntries()[0], { usage: 'new group [name]', description: COMMANDS[0]!.help });
  });

  it('has no phrase or alias claimed by two commands', () => {
    const all = COMMANDS.flatMap((c) => [c.phrase, ...c.aliases]);
    assert.equal(new Set(all).size, all.length);
  });
});
