/** Card-specific behaviour beyond "valid, small, literal": what each card shows and offers. */
import assert from 'node:assert/strict';
import {
  buildEmailCard,
  buildGroupInfoCard,
  buildInviteCard,
  buildMembersCard,
  buildMyGroupsCard,
  inviteQrDataUrl,
  MEMBERS_PAGE_MAX,
  mailtoUrl,
  shareLinks,
  type MemberRow,
} from '../../cards';
import { provenName, shown } from '../../cards/text';
import { actions, assertValidCard, button, content, literalTexts, verbs } from './cardTestKit';

const LINK = 'https://groups.contoso.example/join/AbCdEfGhIjKlMnOpQrStUv';

describe('the invite card', () => {
  it('shows the QR code as a PNG data URL with alt text, and stays small', async () => {
    const qr = await inviteQrDataUrl(LINK);
    const card = buildInviteCard({
      groupId: 'g1',
      groupName: 'Sales',
      inviteLink: LINK,
      joinCode: 'K7Q-4MZ',
      qrPngDataUrl: qr,
      viewerIsAdmin: false,
    });
    const image = JSON.stringify(content(card)).includes(qr);
    assert.ok(image);
    assert.ok(JSON.stringify(content(card)).includes('"altText":"QR code for the invite link to Sales"'));
    assertValidCard(card);
  });

  it('leaves out a QR code that is not a PNG data URL', () => {
    const card = buildInviteCard({
      groupId: 'g1',
      groupName: 'Sales',
      inviteLink: LINK,
      joinCode: 'K',
      qrPngDataUrl: 'https://evil/x.png',
      viewerIsAdmin: false,
    });
    assert.ok(!JSON.stringify(content(card)).includes('"type":"Image"'));
  });

  it('shows the link and the join code', () => {
    const card = buildInviteCard({ groupId: 'g1', groupName: 'Sales', inviteLink: LINK, joinCode: 'K7Q-4MZ', viewerIsAdmin: false });
    assert.ok(literalTexts(card).includes(LINK));
    assert.ok(literalTexts(card).includes('K7Q-4MZ'));
  });

  it('offers Reset link to admins only', () => {
    const base = { groupId: 'g1', groupName: 'Sales', inviteLink: LINK, joinCode: 'K' };
    assert.ok(verbs(buildInviteCard({ ...base, viewerIsAdmin: true })).includes('resetLink'));
    assert.ok(!verbs(buildInviteCard({ ...base, viewerIsAdmin: false })).includes('resetLink'));
  });

  it('has share buttons for WhatsApp, Telegram, SMS, email and Teams that open URLs', () => {
    const card = buildInviteCard({ groupId: 'g1', groupName: 'Sales', inviteLink: LINK, joinCode: 'K', viewerIsAdmin: false });
    for (const title of ['WhatsApp', 'Telegram', 'SMS', 'Email', 'Teams']) assert.equal(button(card, title).type, 'Action.OpenUrl');
  });

  it('percent-encodes the link and a hostile group name (its URL defanged) in every share URL', () => {
    const name = 'A&B #1 ?x=y "q" [x](https://evil)';
    const links = shareLinks(name, LINK);
    const message = `Join "${shown(name)}" in Microsoft Teams: ${LINK}`;
    assert.ok(!JSON.stringify(links).includes('https%3A%2F%2Fevil'), 'no live URL from the name in a shared message');
    assert.equal(new URL(links.whatsapp).searchParams.get('text'), message);
    assert.equal(new URL(links.telegram).searchParams.get('url'), LINK);
    assert.equal(new URL(links.telegram).searchParams.get('text'), `Join "${shown(name)}" in Microsoft Teams:`);
    assert.equal(new URL(links.teams).origin + new URL(links.teams).pathname, 'https://teams.microsoft.com/share');
    assert.equal(new URL(links.teams).searchParams.get('href'), LINK);
    assert.ok(links.sms.startsWith('sms:?&body='));
    assert.equal(decodeURIComponent(links.sms.slice('sms:?&body='.length)), message);
    for (const url of Object.values(links)) assert.ok(!/[ "#[\]<>]/.test(url.replace(/^[a-z]+:(\/\/[^/?]+)?[^?]*\?/, '')), url);
    assert.ok(!links.email.includes('+'), 'mailto uses %20, not +');
  });
});

describe('the group info card', () => {
  const base = { groupId: 'g1', name: 'Sales', memberCount: 1234, adminNames: ['Ann', 'Bob', 'Cy', 'Dee'], adminCount: 7 };

  it('names the first three admins and how many more there are', () => {
    const card = buildGroupInfoCard({ ...base, viewerIsAdmin: false });
    assert.ok(literalTexts(card).includes('Ann, Bob, Cy and 4 more'));
    assert.ok(literalTexts(card).includes('1,234 members'));
  });

  it("tells admins, and only admins, how many members can't be reached and how many are still being tried", () => {
    const counts = { unreachableCount: 3, retryingCount: 2 };
    const admin = JSON.stringify(buildGroupInfoCard({ ...base, viewerIsAdmin: true, ...counts }).content);
    assert.match(admin, /3 members can't be reached/);
    assert.match(admin, /2 members did not get every post yet/);
    assertValidCard(buildGroupInfoCard({ ...base, viewerIsAdmin: true, ...counts }));
    const member = JSON.stringify(buildGroupInfoCard({ ...base, viewerIsAdmin: false, ...counts }).content);
    assert.doesNotMatch(member, /can't be reached|did not get every post/);
    assert.doesNotMatch(JSON.stringify(buildGroupInfoCard({ ...base, viewerIsAdmin: true }).content), /can't be reached|did not get/);
  });

  it('says Private until the group is owned by an organization', () => {
    assert.ok(literalTexts(buildGroupInfoCard({ ...base, viewerIsAdmin: true })).includes('Private'));
    const owned = buildGroupInfoCard({ ...base, organizationName: provenName('Contoso'), viewerIsAdmin: true });
    assert.ok(literalTexts(owned).includes('Contoso'));
    assert.ok(!verbs(owned).includes('addToOrganization'), 'mapping is one-way');
  });

  it('hides Reset link, Delete and Add to organization from members who are not admins', () => {
    const v = verbs(buildGroupInfoCard({ ...base, viewerIsAdmin: false }));
    for (const adminOnly of ['resetLink', 'deleteGroup', 'addToOrganization']) assert.ok(!v.includes(adminOnly), adminOnly);
  });

  it('keeps the admin actions behind More (an Action.ShowCard)', () => {
    const card = buildGroupInfoCard({ ...base, viewerIsAdmin: true });
    assert.equal(button(card, 'More').type, 'Action.ShowCard');
    assert.deepEqual(
      (content(card)['actions'] as Array<{ title: string }>).map((a) => a.title),
      ['Invite People', 'Announce', 'Poll', 'More'],
    );
  });

  it('shows the photo with alt text only for an https URL', () => {
    const withPhoto = JSON.stringify(content(buildGroupInfoCard({ ...base, photoUrl: 'https://cdn.example/p.png', viewerIsAdmin: false })));
    assert.ok(withPhoto.includes('"altText":"Group photo of Sales"'));
    const http = JSON.stringify(content(buildGroupInfoCard({ ...base, photoUrl: 'http://10.0.0.1/p.png', viewerIsAdmin: false })));
    assert.ok(!http.includes('"type":"Image"'));
  });
});

describe('the members card', () => {
  const member = (i: number): MemberRow => ({
    userId: `29:${'u'.repeat(60)}${i}`,
    name: `${'N'.repeat(100)}${i}`,
    role: i % 5 === 0 ? 'admin' : 'member',
  });
  const token = 'e'.repeat(300);

  it('stays under 28 KB with a full page of long names, buttons and a long continuation token', () => {
    const card = buildMembersCard({
      groupId: 'g'.repeat(40),
      groupName: 'G'.repeat(100),
      totalCount: 5000,
      members: Array.from({ length: MEMBERS_PAGE_MAX + 10 }, (_, i) => member(i)),
      continuationToken: token,
      viewerIsAdmin: true,
    });
    assertValidCard(card);
    assert.equal(MEMBERS_PAGE_MAX, 50);
    assert.equal(actions(card).filter((a) => a.verb === 'manageMember').length, MEMBERS_PAGE_MAX);
  });

  it('stays under 28 KB with 50 rows, a search and the removed people (wide characters in every name)', () => {
    const wide = '名'.repeat(100);
    const card = buildMembersCard({
      groupId: 'g'.repeat(40),
      groupName: wide,
      totalCount: 5000,
      members: Array.from({ length: MEMBERS_PAGE_MAX }, (_, i) => ({ ...member(i), name: wide })),
      continuationToken: token,
      viewerIsAdmin: true,
      search: wide,
      removed: Array.from({ length: 12 }, (_, i) => ({ userId: `aad-removed-${i}-${'y'.repeat(30)}`, name: wide })),
      moreRemoved: true,
    });
    assertValidCard(card);
    assert.equal(actions(card).filter((a) => a.verb === 'manageMember').length, MEMBERS_PAGE_MAX, 'every member of the page stays');
    assert.match(JSON.stringify(card.content), /Type \\"allow\\" and a name/);
  });

  it('has a search box whose Search button pages the members, and carries the search on Next page', () => {
    const card = buildMembersCard({
      groupId: 'g1',
      groupName: 'S',
      members: [member(1)],
      continuationToken: 'tok',
      viewerIsAdmin: false,
      search: 'ann',
    });
    assert.deepEqual(button(card, 'Search').data, { groupId: 'g1', verb: 'membersPage' });
    assert.deepEqual(button(card, 'Next page').data, { groupId: 'g1', continuationToken: 'tok', search: 'ann', verb: 'membersPage' });
    assert.match(JSON.stringify(card.content), /"id":"memberSearch"/);
  });

  it('tells a member of a group whose members do not see each other, with no search box', () => {
    const card = buildMembersCard({ groupId: 'g1', groupName: 'S', members: [member(1)], viewerIsAdmin: false, adminsOnly: true });
    assertValidCard(card);
    assert.match(JSON.stringify(card.content), /members see the admins, not each other/);
    assert.doesNotMatch(JSON.stringify(card.content), /memberSearch/);
  });

  it('carries the continuation token on the Next page button', () => {
    const card = buildMembersCard({ groupId: 'g1', groupName: 'S', members: [member(1)], continuationToken: token, viewerIsAdmin: false });
    assert.deepEqual(button(card, 'Next page').data, { groupId: 'g1', continuationToken: token, verb: 'membersPage' });
  });

  it('gives admins a Manage button carrying the member, but none on their own row', () => {
    const card = buildMembersCard({
      groupId: 'g1',
      groupName: 'S',
      members: [
        { userId: 'me', name: 'Me', role: 'admin', isViewer: true },
        { userId: 'u2', name: 'Bo', role: 'member' },
      ],
      viewerIsAdmin: true,
    });
    assert.deepEqual(button(card, 'Manage').data, { groupId: 'g1', userId: 'u2', verb: 'manageMember' });
    assert.equal(actions(card).filter((a) => a.data?.['userId'] === 'me').length, 0);
  });

  it('gives members who are not admins no Remove or Make admin buttons', () => {
    const card = buildMembersCard({ groupId: 'g1', groupName: 'S', members: [member(1), member(2)], viewerIsAdmin: false });
    assert.deepEqual(verbs(card), ['membersPage', 'showGroupInfo']);
  });
});

describe('the my groups card', () => {
  it('invites you to create a group when you have none', () => {
    const card = buildMyGroupsCard({ groups: [] });
    assert.deepEqual(verbs(card), ['createGroup']);
    assertValidCard(card);
  });

  it('opens a group with its id', () => {
    const card = buildMyGroupsCard({ groups: [{ groupId: 'g9', name: 'S', memberCount: 1, role: 'member' }] });
    assert.deepEqual(button(card, 'Open').data, { groupId: 'g9', verb: 'showGroupInfo' });
  });
});

describe('the email card', () => {
  it('links to the signed email and a mailto with the email', () => {
    const card = buildEmailCard({
      groupId: 'g1',
      groupName: 'Sales',
      emailFileUrl: 'https://f.example/e.eml?sig=1',
      mailto: { subject: 'Join Sales & more', body: 'Line 1\nLine 2' },
      canEdit: false,
    });
    assert.equal(button(card, 'Download email').url, 'https://f.example/e.eml?sig=1');
    assert.equal(button(card, 'Write the email').url, 'mailto:?subject=Join%20Sales%20%26%20more&body=Line%201%0D%0ALine%202');
  });

  it('refuses a download link that is not https', () => {
    assert.throws(() => buildEmailCard({ groupId: 'g1', groupName: 'S', emailFileUrl: 'javascript:alert(1)', canEdit: false }));
  });

  it('encodes mailto links per RFC 6068', () => {
    assert.equal(mailtoUrl('a b', 'c?d=e&f'), 'mailto:?subject=a%20b&body=c%3Fd%3De%26f');
  });
});
