import assert from 'node:assert/strict';
import { button, errorInvokeResponse, toInvokeResponse } from '../../cards/actions';
import { buildWelcomeCard } from '../../cards/welcome';
import { CARD_VERBS, actionData, isCardVerb, parseCardAction } from '../../cards/verbs';

describe('cards/verbs', () => {
  it('lists every verb once', () => {
    assert.equal(new Set(CARD_VERBS).size, CARD_VERBS.length);
    for (const v of ['createGroup', 'showGroupInfo', 'confirmResetLink', 'membersPage', 'myGroupsPage', 'addToOrganization']) {
      assert.ok(isCardVerb(v), v);
    }
  });

  it('puts the verb into the data, where the data cannot override it', () => {
    assert.deepEqual(actionData('showInvite', { groupId: 'g1', verb: 'deleteGroup' }), { groupId: 'g1', verb: 'showInvite' });
  });

  describe('parseCardAction()', () => {
    it('reads an Action.Submit value (the data merged with the inputs)', () => {
      assert.deepEqual(parseCardAction({ verb: 'createGroup', step: 'name', groupName: 'Sales', msteams: { x: 1 } }), {
        verb: 'createGroup',
        data: { step: 'name', groupName: 'Sales' },
      });
    });

    it('reads an Action.Execute invoke value', () => {
      const value = {
        action: { type: 'Action.Execute', verb: 'showMembers', data: { verb: 'showMembers', groupId: 'g1' } },
        trigger: 'manual',
      };
      assert.deepEqual(parseCardAction(value), { verb: 'showMembers', data: { groupId: 'g1' } });
    });

    it('reads what our own buttons carry, whichever way they are sent', () => {
      const submit = button('Members', 'showMembers', { groupId: 'g1' });
      const viaSubmit = parseCardAction(submit.data);
      // The Action.Execute form of the same button: the verb beside the same data.
      const viaExecute = parseCardAction({ action: { type: 'Action.Execute', verb: 'showMembers', data: submit.data } });
      assert.deepEqual(viaSubmit, viaExecute);
      assert.deepEqual(viaSubmit, { verb: 'showMembers', data: { groupId: 'g1' } });
    });

    const bad: Array<[string, unknown]> = [
      ['no value', undefined],
      ['a string value', 'createGroup'],
      ['no verb', { groupId: 'g1' }],
      ['an unknown verb', { verb: 'dropTables' }],
      ['an inherited verb name', { verb: 'toString' }],
      ['nested data', { verb: 'showMembers', groupId: { $ne: 1 } }],
      ['an array field', { verb: 'showMembers', ids: ['a'] }],
      ['a non-finite number', { verb: 'membersPage', page: Number.NaN }],
      ['a huge field', { verb: 'joinGroup', inviteCode: 'x'.repeat(5000) }],
      ['two verbs that disagree', { action: { type: 'Action.Execute', verb: 'help', data: { verb: 'confirmDelete' } } }],
    ];
    for (const [what, value] of bad) {
      it(`refuses ${what} with an error`, () => {
        const result = parseCardAction(value);
        assert.ok('error' in result, JSON.stringify(result));
      });
    }

    it('skips empty optional inputs', () => {
      assert.deepEqual(parseCardAction({ verb: 'createGroup', step: 'photo', photoUrl: null }), {
        verb: 'createGroup',
        data: { step: 'photo' },
      });
    });
  });

  describe('buttons', () => {
    it('are Action.Submit carrying { verb, ...data } so that they work on Teams mobile', () => {
      assert.deepEqual(button('Open', 'showGroupInfo', { groupId: 'g1' }), {
        type: 'Action.Submit',
        title: 'Open',
        data: { groupId: 'g1', verb: 'showGroupInfo' },
      });
    });

    it('refresh a card in place through the invoke response with the same builder', () => {
      const card = buildWelcomeCard();
      const response = toInvokeResponse(card);
      assert.equal(response.statusCode, 200);
      assert.equal(response.type, 'application/vnd.microsoft.card.adaptive');
      assert.equal(response.value, card.content);
    });

    it('answer an unknown verb with a typed 400', () => {
      assert.deepEqual(errorInvokeResponse('Unknown card verb "x".'), {
        statusCode: 400,
        type: 'application/vnd.microsoft.error',
        value: { code: 'BadRequest', message: 'Unknown card verb "x".' },
      });
    });
  });
});
