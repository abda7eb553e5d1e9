/**
 * The landing page works whatever name it is opened by: its own assets (the group photo) are addressed relative
 * to the page, so http://127.0.0.1:3978 and http://localhost:3978 both load them, whatever PUBLIC_URL says.
 */
import assert from 'node:assert/strict';
import { pageRelativeUrl, renderInvitePage } from '../../src/web/landingPage';

const TOKEN = 'AbCdEfGhIjKlMnOpQrStUv';

function photoSrc(html: string): string {
  const src = /<img class="photo" src="([^"]*)"/.exec(html)?.[1];
  assert.ok(src !== undefined, 'the page shows the photo');
  return src.replace(/&amp;/g, '&');
}

describe('the landing page opened by another name than PUBLIC_URL', () => {
  it('addresses the group photo relative to the page, so it is same-origin by localhost and by 127.0.0.1', async () => {
    const publicUrl = 'http://localhost:3978';
    const html = await renderInvitePage(
      { groupName: 'Night shift', memberCount: 3, photoUrl: `${publicUrl}/groups/g1/photo?v=abc` },
      TOKEN,
      { publicUrl },
    );
    const src = photoSrc(html);
    assert.equal(src, '../groups/g1/photo?v=abc');
    for (const opened of ['http://localhost:3978', 'http://127.0.0.1:3978']) {
      const page: URL = new URL(`/join/${TOKEN}`, opened);
      const photo: URL = new URL(src, page);
      assert.equal(photo.origin, page.origin, `the photo comes from the page's own origin (${opened})`);
      assert.equal(photo.pathname, '/groups/g1/photo');
    }
    // Link previews (unfurlers) need an absolute address: og:image keeps PUBLIC_URL.
    assert.ok(html.includes(`<meta property="og:image" content="${publicUrl}/groups/g1/photo?v=abc">`));
  });

  it("keeps a path prefix of PUBLIC_URL (a reverse proxy), and leaves another server's address as it is", () => {
    const relative = pageRelativeUrl('https://example.org/bot/groups/g1/photo?v=1', 'https://example.org/bot');
    assert.equal(new URL(relative, `https://example.org/bot/join/${TOKEN}`).href, 'https://example.org/bot/groups/g1/photo?v=1');
    assert.equal(pageRelativeUrl('https://cdn.example.net/p.png', 'https://example.org'), 'https://cdn.example.net/p.png');
    assert.equal(pageRelativeUrl('https://example.org.evil.example/x', 'https://example.org'), 'https://example.org.evil.example/x');
  });
});
