/**
 * Proven names against typed text: a verified organization (the tenant mapping's name or domain) shows as it is,
 * while everything a person typed keeps the text rule (defanged URLs and host names, no Markdown).
 */
import assert from 'node:assert/strict';
import {
  buildDocumentDetailsCard,
  buildGroupInfoCard,
  buildMyGroupsCard,
  buildOrganizationMappedCard,
  buildOrgGroupsCard,
  provenName,
  type ProvenName,
} from '../../cards';
import { inline, provenInline, provenShown, shown } from '../../cards/text';
import { assertNoMarkup, assertValidCard, content, literalTexts, markdownTexts } from './cardTestKit';

const DOMAIN = provenName('contoso-field.example');
const WHEN = new Date(Date.UTC(2025, 10, 26, 5, 35));

describe('proven names (a verified organization) and typed text', () => {
  it('keeps the dots of a proven domain (the whole name), and defangs the same text when someone typed it', () => {
    assert.equal(provenShown(DOMAIN), 'contoso-field.example');
    assert.equal(provenInline(DOMAIN), 'contoso-field.example');
    assert.equal(shown('contoso-field.example'), 'contoso-field[.]example');
    assert.equal(inline('contoso-field.example'), 'contoso-field[.]example');
  });

  it('shows a display name from Graph as it is, cleaned to one line', () => {
    assert.equal(provenShown(provenName('Contoso Field Services Ltd.')), 'Contoso Field Services Ltd.');
    assert.equal(provenShown(provenName('Contoso\nField\u202e')), 'Contoso Field');
  });

  it('defangs the URLs and hosts inside a display name, as in typed text: a tenant names itself', () => {
    const hostile = provenName('[Verify](https://evil.example/login) **URGENT** <at>Boss</at>');
    assert.equal(provenShown(hostile), '[Verify](https[:]//evil[.]example/login) **URGENT** <at>Boss</at>');
    assert.equal(provenShown(provenName('Contoso.com Ltd')), 'Contoso[.]com Ltd');
    const markdown = provenInline(hostile);
    assert.equal(markdown, inline('[Verify](https://evil.example/login) **URGENT** <at>Boss</at>'));
    for (const fragment of ['](', '**', '<at', 'evil.example']) assert.ok(!markdown.includes(fragment), markdown);
  });

  it('is a type of its own: a plain string is not proven', () => {
    // @ts-expect-error a string from a message or a card input cannot stand for a verified organization
    const typed: ProvenName = 'contoso-field.example';
    assert.equal(typed, 'contoso-field.example');
  });

  it('Group Info says "Owned by contoso-field.example", and the typed group name beside it stays defanged', () => {
    const card = buildGroupInfoCard({
      groupId: 'g1',
      name: 'sales.example team',
      memberCount: 2,
      adminNames: ['Ann'],
      organizationName: DOMAIN,
      viewerIsAdmin: false,
    });
    assertValidCard(card);
    const texts = literalTexts(card);
    assert.ok(texts.includes('Owned by ') && texts.includes('contoso-field.example'), texts.join(' | '));
    assert.ok(texts.includes('sales[.]example team'), 'the group name is typed text');
    assert.ok(!JSON.stringify(content(card)).includes('contoso-field[.]example'));
  });

  it('the mapped card, the org groups card, my groups and the details card show the domain plainly', () => {
    const cards = [
      buildOrganizationMappedCard({ groupId: 'g1', groupName: 'Sales', organizationName: DOMAIN, mappedBy: 'Ann', mappedAt: WHEN }),
      buildOrgGroupsCard({ organizationName: DOMAIN, groups: [{ groupId: 'g1', name: 'Sales', memberCount: 3 }] }),
      buildMyGroupsCard({ groups: [{ groupId: 'g1', name: 'Sales', memberCount: 3, role: 'member', organizationName: DOMAIN }] }),
      buildDocumentDetailsCard({ groupId: 'g1', groupName: 'Sales', kind: 'poster', organization: { verified: DOMAIN } }),
    ];
    for (const card of cards) {
      assertValidCard(card);
      const json = JSON.stringify(content(card));
      assert.ok(json.includes('contoso-field.example'), json);
      assert.ok(!json.includes('contoso-field[.]example'), json);
      for (const text of markdownTexts(card)) assertNoMarkup(text);
    }
    const mapped = cards[0]!;
    assert.equal(content(mapped)['fallbackText'], 'Sales is now owned by contoso-field.example.');
  });

  it('org groups without a group yet speak of "your organization"', () => {
    const card = buildOrgGroupsCard({ groups: [] });
    assertValidCard(card);
    assert.equal(content(card)['fallbackText'], 'Groups owned by your organization');
  });
});
