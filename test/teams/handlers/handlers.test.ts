import assert from 'node:assert/strict';
import { CARD_VERBS, isCardVerb } from '../../../cards/verbs';
import { COMMAND_NAMES, COMMANDS, HELP_TASKS } from '../../../src/teams/input/commands';
import { readTurnInput } from '../../../src/teams/input/turnInput';
import {
  HANDLERS,
  HELP_HEADINGS,
  TYPED_COMMANDS,
  commandHandler,
  isIdempotentRequest,
  verbHandler,
  type Handler,
} from '../../../src/teams/handlers/handlers';

const entries = Object.entries(HANDLERS) as Array<[string, Handler]>;

describe('src/teams/handlers: the one handler table', () => {
  it('has an entry with a click handler for every card verb', () => {
    for (const verb of CARD_VERBS) assert.equal(typeof verbHandler(verb).clicked, 'function', verb);
  });

  it('has a typed part for every command, and the commands are exactly its typed entries in table order', () => {
    for (const name of COMMAND_NAMES) assert.equal(typeof commandHandler(name).run, 'function', name);
    assert.deepEqual(
      COMMANDS.map((c) => c.name),
      entries.filter(([, h]) => h.typed).map(([key]) => key),
    );
    assert.deepEqual(
      TYPED_COMMANDS.map((c) => c.phrase),
      COMMANDS.map((c) => c.phrase),
    );
  });

  it('reaches every entry: each is typed, or clicked through a card verb of the same name', () => {
    for (const [key, h] of entries) {
      assert.ok(h.typed || h.clicked, `${key} is neither typed nor clicked`);
      if (h.clicked) assert.ok(isCardVerb(key), `${key} has a click handler but no card verb`);
    }
  });

  it('marks the confirmation buttons (their card is retired after a click) and the create dialog own buttons', () => {
    const flagged = (flag: 'confirmation' | 'dialog') =>
      entries
        .filter(([, h]) => h[flag])
        .map(([key]) => key)
        .sort();
    assert.deepEqual(flagged('confirmation'), [
      'cancel',
      'confirmBulkAdd',
      'confirmDelete',
      'confirmDeletePost',
      'confirmLeave',
      'confirmRemove',
      'confirmResetLink',
      'postIt',
      'undoImport',
    ]);
    assert.deepEqual(flagged('dialog'), ['createGroup', 'skipPhoto']);
  });

  it('lists each command under the help heading its entry names, headings in their order and commands in table order', () => {
    assert.deepEqual(
      HELP_TASKS.map((t) => t.task),
      [...HELP_HEADINGS],
    );
    for (const { task, commands } of HELP_TASKS) {
      assert.ok(commands.length > 0, `the heading "${task}" has commands`);
      assert.deepEqual(
        commands,
        COMMANDS.filter((c) => c.heading === task).map((c) => c.name),
      );
    }
    // Commands without a heading are in the full list only; the everyday ones all have one.
    const unheaded = COMMANDS.filter((c) => !c.heading)
      .map((c) => c.name)
      .sort();
    assert.deepEqual(unheaded, ['cancel', 'help']);
  });

  it('marks joins and the answers to announcements and polls idempotent (no lease, no dialog state), and nothing else', () => {
    assert.deepEqual(
      entries
        .filter(([, h]) => h.idempotent)
        .map(([key]) => key)
        .sort(),
      // An answer is once per (action, member) in the store; a reminder once per window; closing once.
      ['closePoll', 'confirmAction', 'join', 'joinGroup', 'notAnsweredPage', 'refreshAction', 'remindAction', 'voteAction'],
    );
    const idempotent = (activity: object) => isIdempotentRequest(readTurnInput(activity));
    assert.equal(idempotent({ text: 'join https://bots.example/join/AAAAAAAAAAAAAAAAAAAAAA' }), true);
    assert.equal(idempotent({ text: '/join K7Q-4MZ' }), true);
    assert.equal(idempotent({ value: { verb: 'joinGroup', inviteCode: 'K7Q-4MZ' } }), true);
    assert.equal(idempotent({ text: 'new group' }), false);
    assert.equal(idempotent({ text: 'hello everyone' }), false);
    assert.equal(idempotent({ value: { verb: 'showInvite', groupId: 'g1' } }), false);
  });
});
