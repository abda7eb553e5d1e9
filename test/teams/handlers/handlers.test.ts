import assert from 'node:assert/strict';
import { CARD_VERBS, isCardVerb } from '../../../cards/verbs';
import { COMMAND_NAMES, COMMANDS } from '../../../src/teams/input/commands';
import { HANDLERS, TYPED_COMMANDS, commandHandler, verbHandler, type Handler } from '../../../src/teams/handlers/handlers';

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
    assert.deepEqual(TYPED_COMMANDS.map((c) => c.phrase), COMMANDS.map((c) => c.phrase));
  });

  it('reaches every entry: each is typed, or clicked through a card verb of the same name', () => {
    for (const [key, h] of entries) {
      assert.ok(h.typed || h.clicked, `${key} is neither typed nor clicked`);
      if (h.clicked) assert.ok(isCardVerb(key), `${key} has a click handler but no card verb`);
    }
  });

  it('marks the confirmation buttons (their card is retired after a click) and the create dialog own buttons', () => {
    const flagged = (flag: 'confirmation' | 'dialog') => entries.filter(([, h]) => h[flag]).map(([key]) => key).sort();
    assert.deepEqual(flagged('confirmation'), ['cancel', 'confirmDelete', 'confirmLeave', 'confirmResetLink']);
    assert.deepEqual(flagged('dialog'), ['createGroup', 'skipPhoto']);
  });
});
