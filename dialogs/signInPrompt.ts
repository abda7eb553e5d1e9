import type { TurnContext } from 'botbuilder';
import { Dialog, OAuthPrompt, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import type { UserTokenClient } from 'botframework-connector';
import type { EntraTokenVerifier, VerifiedUser } from '../src/auth/entraTokenVerifier';

/** The bot's OAuth connection and the verifier every token passes before it counts. */
export interface SsoSettings {
  connectionName: string;
  verifier: EntraTokenVerifier;
}

/** A sign-in the app verified: the person, their token, and the key that makes what it completes idempotent. */
export interface SignedIn {
  user: VerifiedUser;
  token: string;
  idempotencyKey: string;
}

const SIGNED_IN = Symbol('signInPrompt.signedIn');

/**
 * Hands a sign-in to the prompt waiting in this turn. The invoke handlers verify first (Teams' token exchange with
 * its dedup across clients and its 412 answer, the sign-in card's verifyState): only a verified sign-in gets here.
 */
export function deliverSignIn(context: TurnContext, signedIn: SignedIn): void {
  context.turnState.set(SIGNED_IN, signedIn);
}

/** The Token Service client the adapter put on this turn (CloudAdapter does, for the bot's own app id). */
export function userTokenClientOf(context: TurnContext): UserTokenClient {
  const adapter = context.adapter as { UserTokenClientKey?: symbol };
  const client = adapter.UserTokenClientKey ? context.turnState.get<UserTokenClient>(adapter.UserTokenClientKey) : undefined;
  if (!client) throw new Error('no user token client on this turn');
  return client;
}

/** The user's token from the Token Service when they signed in before, if the verifier accepts it. */
export async function silentSignIn(context: TurnContext, sso: SsoSettings): Promise<{ user: VerifiedUser; token: string } | undefined> {
  const response = await userTokenClientOf(context)
    .getUserToken(context.activity.from.id, sso.connectionName, context.activity.channelId, '')
    .catch(() => undefined);
  if (!response?.token) return undefined;
  const user = await sso.verifier.verify(response.token).catch(() => undefined);
  return user ? { user, token: response.token } : undefined;
}

/**
 * The sign-in step: ends at once with the user when the Token Service already has a token the verifier accepts;
 * otherwise sends the sign-in card (which Teams turns into silent SSO) and waits for a delivered sign-in.
 *
 * Not botbuilder's OAuthPrompt itself, whose card it sends: OAuthPrompt answers a token exchange with 200 before
 * anything verifies the token (Teams must get 412 to fall back to the card), and exchanges once per copy when
 * Teams sends the same exchange from several clients.
 */
export class SignInPrompt extends Dialog {
  constructor(
    dialogId: string,
    private readonly sso: SsoSettings,
  ) {
    super(dialogId);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const signedIn = await silentSignIn(dc.context, this.sso);
    if (signedIn) return dc.endDialog({ ...signedIn, idempotencyKey: `silent:${dc.context.activity.id}` } satisfies SignedIn);
    await OAuthPrompt.sendOAuthCard(
      { connectionName: this.sso.connectionName, title: 'Sign in', text: 'Sign in with your Microsoft 365 work account to continue.' },
      dc.context,
    );
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const signedIn = dc.context.turnState.get<SignedIn | undefined>(SIGNED_IN);
    return signedIn ? dc.endDialog(signedIn) : Dialog.EndOfTurn;
  }
}
