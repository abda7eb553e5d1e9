import type { TurnContext, UserState } from 'botbuilder';
import {
  ComponentDialog,
  DialogContextError,
  DialogSet,
  DialogTurnStatus,
  WaterfallDialog,
  type DialogContext,
  type DialogState,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { Logger } from '../src/logger';
import type { GroupService } from '../src/groups/groupService';
import type { VerifiedUser } from '../src/auth/entraTokenVerifier';
import type { OrganizationDirectory } from '../src/auth/organizationDirectory';
import { buildOrganizationMappedCard, provenName } from '../cards';
import { userFromActivity } from '../src/teams/input/identity';
import { textReply, type Reply } from '../src/teams/replies';
import { deliverSignIn, SignInPrompt, type SignedIn, type SsoSettings } from './signInPrompt';
import { createDialogContext } from './dialogContexts';

/** What the user asked for before they were signed in; done when the sign-in completes. */
export type SignInRequest =
  | { kind: 'map'; groupId: string; requestedAt: string }
  | { kind: 'orgGroups'; requestedAt: string }
  | { kind: 'export'; groupName: string; requestedAt: string }
  | { kind: 'remove'; groupName: string; memberName: string; requestedAt: string }
  | { kind: 'addPeople'; groupName: string; requestedAt: string };

/** The organization admin's requests: they wait for the same sign-in, and the flow runs them. */
export type OrgAdminRequest = Exclude<SignInRequest, { kind: 'map' }>;

export const ADD_TO_ORGANIZATION_DIALOG = 'addToOrganizationDialog';
const WATERFALL = 'addToOrganizationWaterfall';
const SIGN_IN_PROMPT = 'organizationSignInPrompt';

/** A signed-in request may complete this long after it was made. */
export const PENDING_TTL_MS = 15 * 60 * 1000;

export const SIGN_IN_AGAIN = 'You are signed in. Open Group Info and choose **Add to organization** again to continue.';

export interface AddToOrganizationDependencies {
  groups: Pick<GroupService, 'mapToOrganization'>;
  sso: SsoSettings & { directory: OrganizationDirectory };
  logger: Pick<Logger, 'info'>;
  /** Runs an organization admin's request (org groups, export, remove) once its sign-in is done. */
  orgAdmin(context: TurnContext, request: OrgAdminRequest, user: VerifiedUser): Promise<Reply>;
  now?: () => number;
}

/**
 * Step 3, "Add to organization": sign in (Teams SSO, the sign-in card as fallback), then map the group to the
 * tenant of the VERIFIED token, never to the tenant an activity claims. The dialog's options are the request the
 * user made; its result is the Reply to show. The organization admin's commands wait for the same sign-in.
 */
export class AddToOrganizationDialog extends ComponentDialog {
  private readonly now: () => number;

  constructor(private readonly deps: AddToOrganizationDependencies) {
    super(ADD_TO_ORGANIZATION_DIALOG);
    this.now = deps.now ?? Date.now;
    this.addDialog(new SignInPrompt(SIGN_IN_PROMPT, deps.sso));
    this.addDialog(
      new WaterfallDialog<SignInRequest>(WATERFALL, [(step) => step.beginDialog(SIGN_IN_PROMPT), (step) => this.complete(step)]),
    );
    this.initialDialogId = WATERFALL;
  }

  private async complete(step: WaterfallStepContext<SignInRequest>): Promise<DialogTurnResult> {
    const request = step.options;
    const signedIn = step.result as SignedIn;
    if (this.now() - Date.parse(request.requestedAt) > PENDING_TTL_MS) return step.endDialog(textReply(SIGN_IN_AGAIN));
    const reply =
      request.kind === 'map'
        ? await this.map(step.context, request.groupId, signedIn)
        : await this.deps.orgAdmin(step.context, request, signedIn.user);
    return step.endDialog(reply);
  }

  private async map(context: TurnContext, groupId: string, { user, token, idempotencyKey }: SignedIn): Promise<Reply> {
    const actor = userFromActivity(context.activity);
    // The token must be the person in the chat: a Teams user's AAD object id is in the activity.
    const activityOid = context.activity.from.aadObjectId?.toLowerCase();
    if (activityOid && activityOid !== user.objectId) {
      return textReply('You signed in with a different account than the one you use in Teams. Sign in with your Teams work account.');
    }
    const organizationName = await this.deps.sso.directory.organizationName(user, token);
    const { group, changed } = await this.deps.groups.mapToOrganization({
      groupId,
      actor,
      verified: { tenantId: user.tenantId, objectId: user.objectId, organizationName },
      idempotencyKey,
    });
    this.deps.logger.info({ groupId, tenantId: user.tenantId, changed }, 'group mapped to organization');
    return {
      cards: [
        buildOrganizationMappedCard({
          groupId: group.id,
          groupName: group.name,
          // The directory's answer for the verified tenant (Graph's display name, or a verified domain).
          organizationName: provenName(group.organizationName ?? organizationName),
          mappedBy: group.mappedBy?.name ?? actor.name,
          mappedAt: new Date(group.mappedAt ?? this.now()),
        }),
      ],
    };
  }
}

/**
 * Runs the dialog in the user's own state, not the conversation's: a sign-in belongs to the person, and a card
 * waiting for it must not turn the user's next messages into answers (they keep talking while it waits).
 */
export class OrganizationSignIn {
  private readonly dialogs: DialogSet;

  constructor(userState: UserState, dialog: AddToOrganizationDialog) {
    this.dialogs = new DialogSet(userState.createProperty<DialogState>('organizationSignIn')).add(dialog);
  }

  /** The answer at once when the user is signed in already; otherwise the sign-in card (and an empty Reply). */
  async begin(context: TurnContext, request: SignInRequest): Promise<Reply> {
    const dc = await createDialogContext(this.dialogs, context);
    // A new request replaces the one waiting for sign-in.
    await dc.cancelAllDialogs();
    return this.settle(dc, () => dc.beginDialog(ADD_TO_ORGANIZATION_DIALOG, request));
  }

  /** Completes the request waiting for this verified sign-in; without one, says to ask again. */
  async resume(context: TurnContext, signedIn: SignedIn): Promise<Reply> {
    const dc = await createDialogContext(this.dialogs, context);
    if (!dc.activeDialog) return textReply(SIGN_IN_AGAIN);
    deliverSignIn(context, signedIn);
    return this.settle(dc, () => dc.continueDialog());
  }

  private async settle(dc: DialogContext, run: () => Promise<DialogTurnResult>): Promise<Reply> {
    try {
      const result = await run();
      return result.status === DialogTurnStatus.complete ? (result.result as Reply) : { cards: [] };
    } catch (err) {
      // A refused request is over: nothing stays waiting for a sign-in.
      await dc.cancelAllDialogs();
      // botbuilder wraps what a dialog throws; the caller shows a typed refusal (AppError) as its card.
      throw err instanceof DialogContextError && err.error instanceof Error ? err.error : err;
    }
  }
}
