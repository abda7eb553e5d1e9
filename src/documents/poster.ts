import PptxGenJS from 'pptxgenjs';
import QRCode from 'qrcode';
import { InvalidInputError } from '../errors';
import {
  MAX_POSTER_LINK_CHARS,
  checkJoinCode,
  checkLink,
  cleanVoice,
  findBotLine,
  joinSteps,
  linkFontSize,
  moveSteps,
  type JoinPath,
  organizationInSentence,
  requireName,
  whyLineFor,
  type Voice,
} from './content';
import {
  BRAND,
  BRAND_LIGHT,
  CONTENT_W,
  FONT,
  HEADER_H,
  INK,
  LINK,
  MARGIN,
  MUTED,
  POSTER_LINK_BOX_WIDTH,
  SLIDE_W,
  addFooter,
  addSteps,
  checkPhoto,
  containIn,
  newPresentation,
  write,
} from './posterLayout';

export { MAX_PHOTO_BYTES, POSTER_LINK_BOX_WIDTH } from './posterLayout';

/**
 * Step 4 of the move ("ask everyone to move their work chat"): a printable poster, as a one-slide PowerPoint file
 * on an A4 portrait slide (8.27 × 11.69 in; it prints on Letter with "fit to page"). People can still edit it in
 * PowerPoint before printing. All user text goes in as plain text runs, which pptxgenjs XML-escapes; the one
 * field pptxgenjs writes raw (the `Company` metadata) is escaped here.
 */

export interface PosterData extends Voice {
  groupName: string;
  /** The group photo, PNG or JPEG. */
  photo?: { bytes: Buffer; contentType: string };
  /** The group's invite link (absolute http(s) URL); printed as text and as a QR code. */
  inviteUrl: string;
  joinCode: string;
  botName: string;
  /** How the invite page lets people join (its Open in Teams button by default). */
  joinPath?: JoinPath;
}

export interface IntroPosterData extends Voice {
  botName: string;
  /** A link that installs or opens the bot in Teams; printed as text and as a QR code when given. */
  installUrl?: string;
}

/** The largest group photo we embed. */

/** The QR code PNG the posters embed for a link (exported so that tests and previews can reproduce it). */
export function qrCodePng(text: string, width = 720): Promise<Buffer> {
  return QRCode.toBuffer(text, {
    type: 'png',
    errorCorrectionLevel: 'M',
    margin: 2,
    width,
    color: { dark: '#000000', light: '#FFFFFF' },
  });
}

/**
 * "Join <group>": the poster for the group's members, pinned where they work. It speaks to them only: scan,
 * send, you're in. The organization is the verified one of a mapped group (or what the owner typed for an
 * unmapped one); the sender's personal line is printed as a quote.
 */
export async function buildJoinPoster(data: PosterData): Promise<Buffer> {
  const groupName = requireName(data.groupName, 'group name');
  const botName = requireName(data.botName, 'bot name', 60);
  const inviteUrl = checkLink(data.inviteUrl, 'invite link');
  if (inviteUrl.length > MAX_POSTER_LINK_CHARS) throw new InvalidInputError('The invite link is too long to print on a poster.');
  const joinCode = checkJoinCode(data.joinCode);
  const voice = cleanVoice(data);
  const photo = data.photo === undefined ? undefined : checkPhoto(data.photo);
  const qr = await qrCodePng(inviteUrl);

  const pptx = newPresentation({
    title: `Join ${groupName} on Microsoft Teams`,
    subject: `How to join the group ${groupName} on Microsoft Teams`,
    organization: voice.organization,
    author: voice.sender ?? botName,
  });
  const slide = pptx.addSlide();
  slide.background = { color: 'FFFFFF' };

  // Header: organization, group photo, title.
  slide.addShape(pptx.ShapeType.rect, { x: 0, y: 0, w: SLIDE_W, h: HEADER_H, fill: { color: BRAND }, line: { color: BRAND } });
  let textX = MARGIN;
  if (photo !== undefined) {
    const box = 1.5;
    const { w, h } = containIn(photo.width, photo.height, box, box);
    slide.addImage({
      data: `image/${photo.format};base64,${photo.bytes.toString('base64')}`,
      x: MARGIN + (box - w) / 2,
      y: 0.42 + (box - h) / 2,
      w,
      h,
      altText: `Photo of the group ${groupName}`,
    });
    textX = MARGIN + box + 0.3;
  }
  const headerTextW = SLIDE_W - MARGIN - textX;
  if (voice.organization !== undefined) {
    slide.addText(voice.organization, {
      x: textX,
      y: 0.3,
      w: headerTextW,
      h: 0.4,
      fontFace: FONT,
      fontSize: 14,
      color: BRAND_LIGHT,
      bold: true,
      margin: 0,
    });
  }
  slide.addText([{ text: 'Join ' }, { text: groupName, options: { bold: true } }], {
    x: textX,
    y: 0.72,
    w: headerTextW,
    h: 1.05,
    fontFace: FONT,
    fontSize: 30,
    color: 'FFFFFF',
    valign: 'middle',
    fit: 'shrink',
    margin: 0,
  });
  slide.addText('Our group is moving to Microsoft Teams.', {
    x: textX,
    y: 1.8,
    w: headerTextW,
    h: 0.4,
    fontFace: FONT,
    fontSize: 14,
    color: BRAND_LIGHT,
    margin: 0,
  });

  let y = HEADER_H + 0.3;
  if (voice.line !== undefined) {
    slide.addText(
      [
        { text: `\u201C${voice.line}\u201D`, options: { italic: true, fontSize: 16, color: INK, breakLine: voice.sender !== undefined } },
        ...(voice.sender !== undefined ? [{ text: `\u2014 ${voice.sender}`, options: { fontSize: 12, color: MUTED } }] : []),
      ],
      { x: MARGIN, y, w: CONTENT_W, h: 1.0, fontFace: FONT, valign: 'middle', fit: 'shrink', margin: 0 },
    );
    y += 1.15;
  }

  // The QR code and the three steps.
  const qrSize = 3.1;
  slide.addImage({
    data: `image/png;base64,${qr.toString('base64')}`,
    x: MARGIN,
    y,
    w: qrSize,
    h: qrSize,
    altText: `QR code of the invite link ${inviteUrl}`,
  });
  const rightX = MARGIN + qrSize + 0.35;
  const rightW = SLIDE_W - MARGIN - rightX;
  const stepRuns: PptxGenJS.TextProps[] = [{ text: 'Scan to join', options: { fontSize: 22, bold: true, color: INK, breakLine: true } }];
  joinSteps(botName, data.joinPath).forEach((step, i) => {
    stepRuns.push({ text: `${i + 1}. ${step.title}`, options: { fontSize: 14, bold: true, color: INK, breakLine: true } });
    stepRuns.push({ text: step.detail, options: { fontSize: 11, color: MUTED, breakLine: true } });
  });
  slide.addText(stepRuns, {
    x: rightX,
    y,
    w: rightW,
    h: qrSize,
    fontFace: FONT,
    valign: 'middle',
    paraSpaceAfter: 4,
    fit: 'shrink',
    margin: 0,
  });
  y += qrSize + 0.25;

  // The link on one line, in the largest size that fits the box (every link of a deployment is this long).
  slide.addText('Or open this link:', { x: MARGIN, y, w: CONTENT_W, h: 0.3, fontFace: FONT, fontSize: 12, color: MUTED, margin: 0 });
  y += 0.32;
  const linkPoints = linkFontSize(inviteUrl.length, POSTER_LINK_BOX_WIDTH);
  slide.addText([{ text: inviteUrl, options: { hyperlink: { url: inviteUrl, tooltip: `Join ${groupName}` } } }], {
    x: MARGIN,
    y,
    w: POSTER_LINK_BOX_WIDTH,
    h: 0.45,
    fontFace: FONT,
    fontSize: linkPoints,
    color: LINK,
    valign: 'middle',
    margin: 0,
    wrap: false,
  });
  y += 0.55;
  slide.addText(
    [
      { text: 'Join code: ', options: { color: INK } },
      { text: joinCode, options: { bold: true, color: INK } },
    ],
    {
      x: MARGIN,
      y,
      w: CONTENT_W,
      h: 0.4,
      fontFace: FONT,
      fontSize: 14,
      margin: 0,
    },
  );

  const questions = voice.sender !== undefined ? ` Questions? Ask ${voice.sender}.` : '';
  addFooter(slide, `Anyone with this link can join ${groupName}: keep this poster where the group's members work.${questions}`);
  return write(pptx);
}

/**
 * "Bring your work groups to Teams": the poster for owners of OTHER groups (a canteen, a notice board): how to
 * find the bot and the four steps of moving a group. No invite link: it is not about joining this group.
 */
export async function buildMoveGroupsPoster(data: IntroPosterData): Promise<Buffer> {
  const botName = requireName(data.botName, 'bot name', 60);
  const installUrl =
    data.installUrl === undefined || data.installUrl.trim() === '' ? undefined : checkLink(data.installUrl, 'install link');
  const voice = cleanVoice(data);
  const orgSentence = organizationInSentence(voice.organization);
  const qr = installUrl === undefined ? undefined : await qrCodePng(installUrl);

  const pptx = newPresentation({
    title: 'Bring your work groups to Teams',
    subject: `Move your work groups to Microsoft Teams with ${botName}`,
    organization: voice.organization,
    author: voice.sender ?? botName,
  });
  const slide = pptx.addSlide();
  slide.background = { color: 'FFFFFF' };

  slide.addShape(pptx.ShapeType.rect, { x: 0, y: 0, w: SLIDE_W, h: HEADER_H, fill: { color: BRAND }, line: { color: BRAND } });
  if (voice.organization !== undefined) {
    slide.addText(voice.organization, {
      x: MARGIN,
      y: 0.3,
      w: CONTENT_W,
      h: 0.4,
      fontFace: FONT,
      fontSize: 14,
      color: BRAND_LIGHT,
      bold: true,
      margin: 0,
    });
  }
  slide.addText('Bring your work groups to Teams', {
    x: MARGIN,
    y: 0.72,
    w: CONTENT_W,
    h: 1.05,
    fontFace: FONT,
    fontSize: 30,
    bold: true,
    color: 'FFFFFF',
    valign: 'middle',
    fit: 'shrink',
    margin: 0,
  });
  slide.addText(whyLineFor(voice.organization), {
    x: MARGIN,
    y: 1.8,
    w: CONTENT_W,
    h: 0.45,
    fontFace: FONT,
    fontSize: 12,
    color: BRAND_LIGHT,
    fit: 'shrink',
    margin: 0,
  });

  let findY = HEADER_H + 0.3;
  if (voice.line !== undefined) {
    slide.addText(
      [
        { text: `\u201C${voice.line}\u201D`, options: { italic: true, fontSize: 15, color: INK, breakLine: voice.sender !== undefined } },
        ...(voice.sender !== undefined ? [{ text: `\u2014 ${voice.sender}`, options: { fontSize: 12, color: MUTED } }] : []),
      ],
      { x: MARGIN, y: findY, w: CONTENT_W, h: 0.9, fontFace: FONT, valign: 'middle', fit: 'shrink', margin: 0 },
    );
    findY += 1.0;
  }
  const findH = voice.line !== undefined ? 2.4 : 2.9;
  const qrSize = Math.min(2.6, findH);
  const findW = qr === undefined ? CONTENT_W : CONTENT_W - qrSize - 0.35;
  const findRuns: PptxGenJS.TextProps[] = [
    { text: 'Run a work group on WhatsApp or another personal app?', options: { fontSize: 18, bold: true, color: INK, breakLine: true } },
    {
      // Owned only after step 4 (Add to organization): the poster says "can own", never "owns".
      text: `${botName} moves it into Teams, with the same people, where ${orgSentence} can own it.`,
      options: { fontSize: 13, color: INK, breakLine: true },
    },
    { text: findBotLine(botName), options: { fontSize: 13, color: INK, breakLine: installUrl !== undefined } },
  ];
  if (installUrl !== undefined) {
    // A text link, not a linked image: pptxgenjs does not escape an image hyperlink's "&" in the .rels part.
    findRuns.push(
      { text: 'Or scan the code, or ', options: { fontSize: 12, color: MUTED } },
      {
        text: `open ${botName} in Teams`,
        options: { fontSize: 12, color: LINK, hyperlink: { url: installUrl, tooltip: `Open ${botName} in Teams` } },
      },
      { text: '.', options: { fontSize: 12, color: MUTED } },
    );
  }
  slide.addText(findRuns, {
    x: MARGIN,
    y: findY,
    w: findW,
    h: findH,
    fontFace: FONT,
    valign: 'middle',
    paraSpaceAfter: 8,
    fit: 'shrink',
    margin: 0,
  });
  if (qr !== undefined && installUrl !== undefined) {
    slide.addImage({
      data: `image/png;base64,${qr.toString('base64')}`,
      x: SLIDE_W - MARGIN - qrSize,
      y: findY + (findH - qrSize) / 2,
      w: qrSize,
      h: qrSize,
      altText: `QR code of the link ${installUrl}`,
    });
  }

  addSteps(pptx, slide, findY + findH + 0.3, 'Move a group in four steps:', moveSteps(botName, orgSentence));
  addFooter(
    slide,
    voice.sender !== undefined ? `Questions? Ask ${voice.sender}.` : `Questions? Ask the person who looks after Teams at ${orgSentence}.`,
  );
  return write(pptx);
}

/** Earlier names of the two posters. */
export const buildMovePoster = buildJoinPoster;
export const buildIntroPoster = buildMoveGroupsPoster;
