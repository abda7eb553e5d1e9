import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM_MISSING, chromiumAvailable } from './chromium';
import { networkNamespaceProblem, runWalkInNetworkNamespace } from './networkNamespace';
import type { WalkthroughResult } from './playgroundWalkthrough';

/**
 * The acceptance walkthrough in the real Microsoft 365 Agents Playground, as a new user would do it:
 * "new group", the name, a photo, Group Info; Invite People (link, code, QR); Reset link (confirm); a second
 * user joins; Group Info shows 2 members. Screenshots of every step go to build/screenshots/.
 *
 * The playground listens on all interfaces and its telemetry SDK tries to reach out, so the whole walkthrough
 * (bot, playground, Chromium) runs in a child process inside `unshare -n`, a network namespace with only
 * loopback; see playgroundWalkthrough.ts. This test starts it, stops it by PID if it overruns, and asserts on the
 * JSON result it writes.
 */
const ROOT = path.join(__dirname, '..', '..');
const SCREENSHOTS = path.join(ROOT, 'build', 'screenshots');
const RESULT = path.join(ROOT, 'build', 'playground', 'result.json');
const WALKTHROUGH = path.join(__dirname, 'playgroundWalkthrough.ts');
const BUDGET_MS = 55_000;

describe('Agents Playground: the acceptance walkthrough in a browser', function () {
  this.timeout(BUDGET_MS + 15_000);
  let result: WalkthroughResult;
  let stderr = '';

  before(async function () {
    if (!chromiumAvailable()) {
      console.warn(CHROMIUM_MISSING);
      this.skip();
    }
    const problem = networkNamespaceProblem();
    if (problem) {
      console.warn(
        `Agents Playground walkthrough skipped: ${problem}. The playground listens on every interface, so it only runs inside unshare -n.`,
      );
      this.skip();
    }
    // Only this walkthrough's screenshots (NN-step.png): the conversation walkthrough, in another mocha worker,
    // may be writing its own (conversation-NN-step.png) into the same folder at the same time.
    for (const file of existsSync(SCREENSHOTS) ? readdirSync(SCREENSHOTS) : []) {
      if (/^\d\d-/.test(file)) rmSync(path.join(SCREENSHOTS, file), { force: true });
    }
    ({ result, output: stderr } = await runWalkInNetworkNamespace<WalkthroughResult>({
      script: WALKTHROUGH,
      screenshots: SCREENSHOTS,
      result: RESULT,
      budgetMs: BUDGET_MS,
    }));
  });

  it('walks from "new group" to Group Info with 2 members, without errors', () => {
    assert.ok(result.ok, `the walkthrough failed after ${result.steps.map((s) => s.name).join(' > ')}:\n${result.error}\n${stderr}`);
    assert.deepEqual(
      result.steps.map((s) => s.name),
      [
        'ask-group-name',
        'ask-group-photo',
        'photo-as-custom-activity',
        'group-info-created',
        'invite-card',
        'reset-link-confirm',
        'reset-link-done',
        'second-user-joins-as-custom-activity',
        'second-user-joined',
        'owner-told-of-join',
        'group-info-two-members',
      ],
    );
    for (const step of result.steps) assert.ok(existsSync(path.join(ROOT, step.screenshot)), `missing ${step.screenshot}`);
    assert.deepEqual(result.botProblems, [], 'the bot logged warnings or errors');
    assert.deepEqual(result.pageProblems, [], 'the page reported errors');
    assert.ok(result.durationMs < BUDGET_MS);
  });

  it('shows the group photo the user attached, served by the bot', () => {
    assert.equal(result.photoWidthInBrowser, 192, 'the browser loaded the 192x192 small copy');
    assert.ok((result.storedPhotoBytes ?? 0) > 0);
  });

  it('shows an invite with link, join code and QR code; a reset makes a new link', () => {
    assert.match(result.inviteLink ?? '', /\/join\/[A-Za-z0-9_-]{22}$/);
    assert.match(result.joinCode ?? '', /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    assert.equal(result.qrShown, true);
    assert.match(result.resetInviteLink ?? '', /\/join\/[A-Za-z0-9_-]{22}$/);
    assert.notEqual(result.resetInviteLink, result.inviteLink);
    assert.notEqual(result.resetJoinCode, result.joinCode);
  });

  it('lets a second user join with the new link: 2 members in Group Info and in storage', () => {
    assert.equal(result.groupInfoMembersText, '2 members');
    assert.equal(result.memberCount, 2);
  });
});
