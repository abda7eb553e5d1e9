/**
 * A typed subset of the Adaptive Card 1.5 schema: the elements and actions this bot's cards use, and nothing
 * Teams does not render. A misspelt property or an unknown element fails to compile instead of failing silently
 * in the client. Cards are built as plain objects of these types, never from templates filled with user text.
 */
import { CardFactory, type Attachment } from 'botbuilder';
import type { CardVerb } from './verbs';

/** The Adaptive Card version every card declares: the highest that Teams renders on all clients. */
export const CARD_VERSION = '1.5';
export const CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

export type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge' | 'Padding';
export type TextSize = 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge';
export type TextWeight = 'Lighter' | 'Default' | 'Bolder';
export type TextColor = 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
export type HorizontalAlignment = 'Left' | 'Center' | 'Right';
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
export type ActionStyle = 'default' | 'positive' | 'destructive';

interface ElementBase {
  id?: string;
  spacing?: Spacing;
  separator?: boolean;
  /** False: hidden until an Action.ToggleVisibility shows it (its inputs are still sent). */
  isVisible?: boolean;
}

/** Teams processes `text` as Markdown: only ever put our own words or `literal(...)` in it. */
export interface TextBlock extends ElementBase {
  type: 'TextBlock';
  text: string;
  wrap?: boolean;
  size?: TextSize;
  weight?: TextWeight;
  color?: TextColor;
  isSubtle?: boolean;
  maxLines?: number;
  style?: 'default' | 'heading';
  horizontalAlignment?: HorizontalAlignment;
}

/** A run of text that is NOT processed as Markdown (schema: "Markdown is not supported"). */
export interface TextRun {
  type: 'TextRun';
  text: string;
  size?: TextSize;
  weight?: TextWeight;
  color?: TextColor;
  isSubtle?: boolean;
  italic?: boolean;
  fontType?: 'Default' | 'Monospace';
}

export interface RichTextBlock extends ElementBase {
  type: 'RichTextBlock';
  inlines: TextRun[];
  horizontalAlignment?: HorizontalAlignment;
}

export interface Image extends ElementBase {
  type: 'Image';
  url: string;
  altText: string;
  size?: 'Auto' | 'Stretch' | 'Small' | 'Medium' | 'Large';
  style?: 'Default' | 'Person';
  horizontalAlignment?: HorizontalAlignment;
}

export interface Fact {
  /** Markdown-processed by Teams: our words or `literal(...)` only. */
  title: string;
  /** Markdown-processed by Teams: our words or `literal(...)` only. */
  value: string;
}

export interface FactSet extends ElementBase {
  type: 'FactSet';
  facts: Fact[];
}

export interface Container extends ElementBase {
  type: 'Container';
  items: CardElement[];
  style?: ContainerStyle;
  /** Tapping the container presses this (an Action.Submit reaches the bot on every client). */
  selectAction?: SubmitAction;
}

export interface Column {
  type: 'Column';
  items: CardElement[];
  width?: 'auto' | 'stretch' | `${number}px` | number;
  verticalContentAlignment?: 'Top' | 'Center' | 'Bottom';
  spacing?: Spacing;
}

export interface ColumnSet extends ElementBase {
  type: 'ColumnSet';
  columns: Column[];
}

export interface ActionSet extends ElementBase {
  type: 'ActionSet';
  actions: CardAction[];
}

export interface InputText extends ElementBase {
  type: 'Input.Text';
  id: string;
  label: string;
  placeholder?: string;
  maxLength?: number;
  isRequired?: boolean;
  errorMessage?: string;
  style?: 'Text' | 'Url' | 'Email' | 'Tel';
  regex?: string;
  value?: string;
  isMultiline?: boolean;
}

export interface InputToggle extends ElementBase {
  type: 'Input.Toggle';
  id: string;
  title: string;
  label?: string;
  /** 'true' or 'false' (valueOn / valueOff); Teams submits the string. */
  value?: string;
  valueOn?: string;
  valueOff?: string;
  wrap?: boolean;
}

export interface InputChoiceSet extends ElementBase {
  type: 'Input.ChoiceSet';
  id: string;
  label?: string;
  /** Titles are plain text (never Markdown). */
  choices: Array<{ title: string; value: string }>;
  style?: 'compact' | 'expanded';
  isMultiSelect?: boolean;
  isRequired?: boolean;
  errorMessage?: string;
  /** Comma-separated values when isMultiSelect. */
  value?: string;
  wrap?: boolean;
}

export interface InputDate extends ElementBase {
  type: 'Input.Date';
  id: string;
  label: string;
  value?: string;
}

export interface InputTime extends ElementBase {
  type: 'Input.Time';
  id: string;
  label: string;
  value?: string;
}

export type CardElement =
  | TextBlock
  | RichTextBlock
  | Image
  | FactSet
  | Container
  | ColumnSet
  | ActionSet
  | InputText
  | InputToggle
  | InputChoiceSet
  | InputDate
  | InputTime;

/** What every bot-bound button carries: the verb plus flat, typed data. */
export type ActionPayload = { verb: CardVerb } & Record<string, string | number | boolean>;

interface ActionBase {
  title: string;
  style?: ActionStyle;
  tooltip?: string;
}

export interface SubmitAction extends ActionBase {
  type: 'Action.Submit';
  data: ActionPayload;
  associatedInputs?: 'auto' | 'none';
}

export interface ExecuteAction extends ActionBase {
  type: 'Action.Execute';
  verb: CardVerb;
  data: ActionPayload;
  associatedInputs?: 'auto' | 'none';
}

export interface OpenUrlAction extends ActionBase {
  type: 'Action.OpenUrl';
  url: string;
}

export interface ShowCardAction extends ActionBase {
  type: 'Action.ShowCard';
  card: AdaptiveCardJson;
}

/** Shows or hides elements of the card on the client (no round trip to the bot). */
export interface ToggleVisibilityAction extends ActionBase {
  type: 'Action.ToggleVisibility';
  targetElements: string[];
}

export type CardAction = SubmitAction | ExecuteAction | OpenUrlAction | ShowCardAction | ToggleVisibilityAction;

export interface AdaptiveCardJson {
  type: 'AdaptiveCard';
  $schema?: string;
  /** Required at the top level; omitted in the card of an Action.ShowCard. */
  version?: typeof CARD_VERSION;
  body: CardElement[];
  actions?: CardAction[];
  /** Plain text shown where the card cannot render (notifications, old clients). Never Markdown. */
  fallbackText?: string;
  msteams?: { width: 'Full' };
  /**
   * Universal Actions: when a reader views the card, Teams sends this Action.Execute and shows the card the bot
   * answers. Automatic for everyone in a conversation of fewer than 60 people (each member's 1:1 chat with the
   * bot); `userIds` (at most 60) only matters in larger ones.
   */
  refresh?: { action: ExecuteAction; userIds?: string[] };
}

/** A top-level card: version 1.5, full width in Teams. */
export function adaptiveCard(body: CardElement[], actions: CardAction[] = [], fallbackText?: string): AdaptiveCardJson {
  const card: AdaptiveCardJson = {
    type: 'AdaptiveCard',
    $schema: CARD_SCHEMA,
    version: CARD_VERSION,
    body,
    msteams: { width: 'Full' },
  };
  if (actions.length > 0) card.actions = actions;
  if (fallbackText !== undefined) card.fallbackText = fallbackText;
  return card;
}

/** The card inside an Action.ShowCard (no version, no schema). */
export function subCard(body: CardElement[], actions: CardAction[] = []): AdaptiveCardJson {
  const card: AdaptiveCardJson = { type: 'AdaptiveCard', body };
  if (actions.length > 0) card.actions = actions;
  return card;
}

export function toAttachment(card: AdaptiveCardJson): Attachment {
  return CardFactory.adaptiveCard(card);
}
