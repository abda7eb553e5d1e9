import assert from 'node:assert/strict';
import { InvalidInputError, TooLargeError } from '../../src/errors';
import { MAX_ROWS, personRefOf, readCsv, readPastedList } from '../../src/bulkadd/addressList';

describe('bulk add: reading the list or the CSV', () => {
  describe('one cell', () => {
    it('tells addresses, object ids and mobile numbers apart, normalized', () => {
      assert.deepEqual(personRefOf(' Ann.Lee@Contoso.example '), { kind: 'upn', value: 'ann.lee@contoso.example' });
      assert.deepEqual(personRefOf('mailto:bob@contoso.example'), { kind: 'upn', value: 'bob@contoso.example' });
      assert.deepEqual(personRefOf('6A1B0C2D-0000-4000-8000-00000000ABCD'), {
        kind: 'objectId',
        value: '6a1b0c2d-0000-4000-8000-00000000abcd',
      });
      assert.deepEqual(personRefOf('+1 (425) 555-0100'), { kind: 'mobile', value: '+14255550100' });
      assert.deepEqual(personRefOf('98855 44332'), { kind: 'mobile', value: '9885544332' });
    });

    it('says why a cell names nobody', () => {
      for (const bad of ['', 'ann@', '@contoso.example', 'ann@contoso', 'Ann Lee', '12345', '=HYPERLINK("x")', 'a b@c.example']) {
        assert.ok('problem' in personRefOf(bad), bad);
      }
    });
  });

  describe('a pasted list', () => {
    it('takes one address a line, or separated by commas and semicolons, for the group it was pasted for', () => {
      const rows = readPastedList('ann@contoso.example, bob@contoso.example\n\n  cy@contoso.example;+14255550100 \n', 'Depot');
      assert.deepEqual(
        rows.map((r) => [r.line, r.groupName, r.person?.value, r.role]),
        [
          [1, 'Depot', 'ann@contoso.example', 'member'],
          [1, 'Depot', 'bob@contoso.example', 'member'],
          [3, 'Depot', 'cy@contoso.example', 'member'],
          [3, 'Depot', '+14255550100', 'member'],
        ],
      );
    });

    it('marks a repeat as a duplicate of its first line, whatever its case, and keeps a malformed cell with its reason', () => {
      const rows = readPastedList('ann@contoso.example\nANN@contoso.example\nnot an address', 'Depot');
      assert.equal(rows[1]!.duplicateOf, 1);
      assert.match(rows[2]!.malformed!, /not an email address/);
    });

    it('refuses an empty list', () => {
      assert.throws(() => readPastedList(' \n , ; \n', 'Depot'), InvalidInputError);
    });
  });

  describe('a CSV', () => {
    it('reads group,user,role in any order and case, with a BOM, quotes, blank lines and a missing role', () => {
      const csv =
        '\uFEFFUser,Role,Group\r\nann@contoso.example,Admin,Depot East\r\n\r\n"bob@contoso.example",,"Depot, West"\r\ncy@contoso.example,member,Depot East\r\n';
      const rows = readCsv(csv);
      assert.deepEqual(
        rows.map((r) => [r.line, r.groupName, r.person?.value, r.role, r.malformed]),
        [
          [2, 'Depot East', 'ann@contoso.example', 'admin', undefined],
          [4, 'Depot, West', 'bob@contoso.example', 'member', undefined],
          [5, 'Depot East', 'cy@contoso.example', 'member', undefined],
        ],
      );
    });

    it('marks rows it cannot use with their reason: no group, no user, a role that is neither, a bad address', () => {
      const rows = readCsv('group,user,role\n,ann@contoso.example,\nDepot,,member\nDepot,bob@contoso.example,owner\nDepot,bob@,\n');
      assert.deepEqual(
        rows.map((r) => r.malformed),
        ['no group given', 'no user given', 'role "owner" is not member or admin', 'not a valid email address'],
      );
    });

    it('treats the same person in two groups as two rows, and twice in one group as a duplicate', () => {
      const rows = readCsv('group,user\nA,ann@contoso.example\nB,ann@contoso.example\na,ANN@contoso.example\n');
      assert.deepEqual(
        rows.map((r) => r.duplicateOf),
        [undefined, undefined, 2],
      );
    });

    it('refuses a file without the header, one that is not CSV, one with only a header, and one over the row limit', () => {
      assert.throws(() => readCsv('name,email\nAnn,ann@contoso.example\n'), /group,user,role/);
      assert.throws(() => readCsv('group,user\n"unterminated,ann@contoso.example\n'), InvalidInputError);
      assert.throws(() => readCsv('group,user,role\n'), /no rows/);
      const big = `group,user\n${Array.from({ length: MAX_ROWS + 1 }, (_, i) => `G,u${i}@contoso.example`).join('\n')}`;
      assert.throws(() => readCsv(big), TooLargeError);
    });
  });
});
