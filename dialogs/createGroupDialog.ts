import type { Attachment, TurnContext } from 'botbuilder';
import {
  ComponentDialog,
  WaterfallDialog,
  type PromptValidatorContext,
  type WaterfallStepContext,
  type DialogTurnResult,
} from 'botbuilder-dialogs';
import { isAppError } from '../src/errors';
import { normalizeGroupName } from '../src/groups/groupName';
import type { Group } from '../src/groups/model';
import { buildAskGroupNameCard, buildAskGroupPhotoCard, GROUP_NAME_INPUT, GROUP_PHOTO_INPUT } from '../cards/createGroupPrompts';
import { AnswerPrompt, type Answer } from './answerPrompt';

export const CREATE_GROUP_DIALOG = 'createGroupDialog';
const WATERFALL = 'createGroupWaterfall';
const NAME_PROMPT = 'groupNamePrompt';
const PHOTO_PROMPT = 'groupPhotoPrompt';

/** Validators hand their result to the next step through turn state: both run in the same turn. */
const NAME_KEY = Symbol('createGroup.name');
const PHOTO_KEY = Symbol('createGroup.photo');

export interface CreateGroupOptions {
  /** From `new group <name>`: skips the question when it is a valid name. */
  name?: string;
}

export interface PhotoBytes {
  bytes: Buffer;
  contentType: string;
}

/** Turns what the user gave (a link, an attached image) into a small, safe copy of the picture. */
export interface GroupPhotoIntake {
  /** Throws an AppError with a friendly message when the link is not a usable image. */
  fromUrl(url: string): Promise<PhotoBytes>;
  fromAttachment(attachment: Attachment, context: TurnContext): Promise<PhotoBytes>;
}

export interface CreateGroupDependencies {
  photos: GroupPhotoIntake;
  /** Creates the group (idempotent on the activity id) and shows it. */
  create(context: TurnContext, draft: { name: string; photo?: PhotoBytes }): Promise<Group>;
}

interface DraftValues {
  name?: string;
}

/** The waterfall's values bag, typed. */
const draft = (step: WaterfallStepContext<CreateGroupOptions>) => step.values as DraftValues;

/**
 * Step 1 of the move: the name (validated), then an optional photo, then the group is created. Nothing is
 * written before the last answer, so Cancel at any point leaves nothing behind.
 */
export class CreateGroupDialog extends ComponentDialog {
  constructor(private readonly deps: CreateGroupDependencies) {
    super(CREATE_GROUP_DIALOG);
    this.addDialog(new AnswerPrompt(NAME_PROMPT, (prompt) => this.validateName(prompt)));
    this.addDialog(new AnswerPrompt(PHOTO_PROMPT, (prompt) => this.validatePhoto(prompt)));
    this.addDialog(
      new WaterfallDialog<CreateGroupOptions>(WATERFALL, [
        (step) => this.askName(step),
        (step) => this.askPhoto(step),
        (step) => this.createGroup(step),
      ]),
    );
    this.initialDialogId = WATERFALL;
  }

  private async askName(step: WaterfallStepContext<CreateGroupOptions>): Promise<DialogTurnResult> {
    const given = step.options?.name?.trim();
    let problem: string | undefined;
    if (given) {
      try {
        return await step.next(normalizeGroupName(given));
      } catch (err) {
        if (!isAppError(err)) throw err;
        problem = err.userMessage;
      }
    }
    const card = buildAskGroupNameCard({ suggestedName: given, problem });
    // The prompt's options live in the dialog state, written and read on every turn of the dialog: the retry card
    // is stored only when it differs from the question (a prompt without one asks its question again).
    const retry = given || problem ? { retryPrompt: { attachments: [buildAskGroupNameCard()] } } : {};
    return step.prompt(NAME_PROMPT, { prompt: { attachments: [card] }, ...retry });
  }

  private async askPhoto(step: WaterfallStepContext<CreateGroupOptions>): Promise<DialogTurnResult> {
    const name = typeof step.result === 'string' ? step.result : (step.context.turnState.get(NAME_KEY) as string);
    draft(step).name = name;
    const card = buildAskGroupPhotoCard({ groupName: name });
    return step.prompt(PHOTO_PROMPT, { prompt: { attachments: [card] } });
  }

  private async createGroup(step: WaterfallStepContext<CreateGroupOptions>): Promise<DialogTurnResult> {
    const photo = step.context.turnState.get(PHOTO_KEY) as PhotoBytes | undefined;
    await this.deps.create(step.context, { name: draft(step).name!, photo });
    return step.endDialog();
  }

  private async validateName(prompt: PromptValidatorContext<Answer>): Promise<boolean> {
    const answer = prompt.recognized.value;
    if (!prompt.recognized.succeeded || !answer) return false;
    const raw = answer.verb ? String(answer.data?.[GROUP_NAME_INPUT] ?? '') : (answer.text ?? '');
    try {
      prompt.context.turnState.set(NAME_KEY, normalizeGroupName(raw));
      return true;
    } catch (err) {
      if (!isAppError(err)) throw err;
      await prompt.context.sendActivity({ attachments: [buildAskGroupNameCard({ suggestedName: raw, problem: err.userMessage })] });
      // The problem card is the retry: a prompt asks again only when nothing answered in the turn.
      return false;
    }
  }

  private async validatePhoto(prompt: PromptValidatorContext<Answer>): Promise<boolean> {
    const answer = prompt.recognized.value;
    if (!prompt.recognized.succeeded || !answer) return false;
    if (answer.verb === 'skipPhoto' || /^(skip|no|none|done|no photo)$/i.test(answer.text?.trim() ?? '')) return true;
    try {
      const image = answer.attachments.find((a) => a.contentType.startsWith('image/') || a.contentType.includes('file.download.info'));
      const url = answer.verb ? String(answer.data?.[GROUP_PHOTO_INPUT] ?? '') : (answer.text ?? '').trim();
      // The photo is optional: "Next" with an empty link field is the same as Skip.
      if (!image && answer.verb && url.trim() === '') return true;
      let photo: PhotoBytes;
      if (image) photo = await this.deps.photos.fromAttachment(image, prompt.context);
      else if (url) photo = await this.deps.photos.fromUrl(url);
      else return false;
      prompt.context.turnState.set(PHOTO_KEY, photo);
      return true;
    } catch (err) {
      if (!isAppError(err)) throw err;
      await prompt.context.sendActivity(`${err.userMessage} Try another link, attach a picture, or choose Skip.`);
      return false;
    }
  }
}
