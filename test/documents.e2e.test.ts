import assert from 'node:assert/strict';
import JSZip from 'jszip';
import { simpleParser } from 'mailparser';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testUser } from './helpers/activities';
import { Chat, actionsIn, cardsIn } from './helpers/chat';
import { validateCard } from '../cards/validate';

/** Step 4 from the chat: `poster` and `email` give signed download links to files made for the group. */
describe('Poster and email (step 4), end to end from the chat', () => {
  let t: TestApp;
  let chat: Chat;
  before(async () => {
    t = await startTestApp();
    chat = new Chat(t);
  });
  after(async () => {
    await t.stop();
  });


  const local = (url: string) => url.replace(t.config.PUBLIC_URL, t.app.url);

  it('offers the poster, the intro poster, the .eml and a mailto link, each made for the group', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Depot West');
    const invite = await t.app.groups.getInvite(groupId, { id: owner.aadObjectId, name: owner.name });
    // A bare "poster" would be a post to the creator's current group (issue 10): the group is named.
    for (const command of ['poster Depot West', 'email Depot']) {
      const card = cardsIn(await chat.say(owner, command))[0]!;
      assert.deepEqual(validateCard(card), []);
      const urls = actionsIn(card).map((a) => a.url).filter((u): u is string => Boolean(u));
      const poster = urls.find((u) => u.includes('/downloads/poster.pptx'))!;
      const intro = urls.find((u) => u.includes('/downloads/intro-poster.pptx'))!;
      const eml = urls.find((u) => u.includes('/downloads/move-email.eml'))!;
      const mailto = urls.find((u) => u.startsWith('mailto:'))!;
      assert.ok(poster && intro && eml && mailto, urls.join(' '));

      const pptx = await fetch(local(poster));
      assert.equal(pptx.status, 200);
      assert.match(pptx.headers.get('content-disposition') ?? '', /attachment/);
      const slide = await (await JSZip.loadAsync(Buffer.from(await pptx.arrayBuffer()))).file('ppt/slides/slide1.xml')!.async('string');
      assert.ok(slide.includes('Depot West'));
      assert.ok(slide.includes(invite.url));

      const email = await simpleParser(Buffer.from(await (await fetch(local(eml))).arrayBuffer()));
      assert.ok(email.text?.includes(invite.url));
      assert.ok(String(email.html).includes('Depot West'));
      assert.match(decodeURIComponent(mailto), /Depot West/);

      assert.equal((await fetch(local(intro))).status, 200);
      assert.equal((await fetch(local(poster).replace(/sig=[^&]+/, 'sig=AAAA'))).status, 403);
    }
  });

  it('refuses someone who is not in the group', async () => {
    const owner = testUser();
    const groupId = await chat.createGroup(owner, 'Private Depot');
    const outsider = testUser();
    const reply = await chat.submit(outsider, 'poster', { groupId });
    assert.match(JSON.stringify(reply), /not a member/);
  });
});
