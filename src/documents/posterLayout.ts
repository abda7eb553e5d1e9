/**
 * The posters' page: A4 portrait geometry, fonts and colours, and the pieces both posters are made of (the
 * presentation with its metadata, the numbered steps, the footer, the photo check and fit, writing the file).
 */
import PptxGenJS from 'pptxgenjs';
import { TooLargeError } from '../errors';
import type { MoveStep } from './content';
import { readImageInfo } from './imageInfo';

export const MAX_PHOTO_BYTES = 5 * 1024 * 1024;

export const SLIDE_W = 8.27;
export const SLIDE_H = 11.69;
export const MARGIN = 0.5;
export const CONTENT_W = SLIDE_W - 2 * MARGIN;
export const HEADER_H = 2.35;
/** The box the invite link is printed in: the full content width (see linkFontSize). */
export const POSTER_LINK_BOX_WIDTH = CONTENT_W;

export const FONT = 'Segoe UI';
export const BRAND = '464EB8';
export const BRAND_LIGHT = 'E8E9F7';
export const INK = '242424';
export const MUTED = '616161';
export const LINK = '0F6CBD';

export function newPresentation(meta: { title: string; subject: string; organization: string | undefined; author: string }): PptxGenJS {
  const pptx = new PptxGenJS();
  pptx.defineLayout({ name: 'A4_PORTRAIT', width: SLIDE_W, height: SLIDE_H });
  pptx.layout = 'A4_PORTRAIT';
  pptx.title = meta.title;
  pptx.subject = meta.subject;
  pptx.author = meta.author;
  // pptxgenjs 4.0.1 writes `company` into docProps/app.xml without escaping it (title, subject and author are
  // escaped), so escape it here. The test parses app.xml with a hostile organization name.
  // Without an organization the field is left empty (pptxgenjs would write its own name).
  pptx.company = meta.organization === undefined ? '' : escapeXml(meta.organization);
  return pptx;
}

export function addSteps(pptx: PptxGenJS, slide: PptxGenJS.Slide, top: number, heading: string, steps: MoveStep[]): void {
  slide.addText(heading, { x: MARGIN, y: top, w: CONTENT_W, h: 0.45, fontFace: FONT, fontSize: 17, bold: true, color: INK, margin: 0 });
  const rowH = 0.92;
  const circle = 0.5;
  steps.forEach((step, index) => {
    const y = top + 0.6 + index * rowH;
    slide.addShape(pptx.ShapeType.ellipse, { x: MARGIN, y, w: circle, h: circle, fill: { color: BRAND }, line: { color: BRAND } });
    slide.addText(String(index + 1), {
      x: MARGIN,
      y,
      w: circle,
      h: circle,
      fontFace: FONT,
      fontSize: 16,
      bold: true,
      color: 'FFFFFF',
      align: 'center',
      valign: 'middle',
      margin: 0,
    });
    slide.addText(
      [
        { text: step.title, options: { bold: true, fontSize: 13, color: INK, breakLine: true } },
        { text: step.detail, options: { fontSize: 11, color: MUTED } },
      ],
      {
        x: MARGIN + circle + 0.2,
        y: y - 0.05,
        w: CONTENT_W - circle - 0.2,
        h: rowH - 0.08,
        fontFace: FONT,
        valign: 'top',
        fit: 'shrink',
        margin: 0,
      },
    );
  });
}

export function addFooter(slide: PptxGenJS.Slide, text: string): void {
  slide.addShape('line', { x: MARGIN, y: SLIDE_H - 0.95, w: CONTENT_W, h: 0, line: { color: 'D1D1D1', width: 1 } });
  slide.addText(text, {
    x: MARGIN,
    y: SLIDE_H - 0.85,
    w: CONTENT_W,
    h: 0.55,
    fontFace: FONT,
    fontSize: 10,
    color: MUTED,
    valign: 'top',
    fit: 'shrink',
    margin: 0,
  });
}

export async function write(pptx: PptxGenJS): Promise<Buffer> {
  const out = await pptx.write({ outputType: 'nodebuffer', compression: true });
  if (Buffer.isBuffer(out)) return out;
  if (out instanceof Uint8Array) return Buffer.from(out);
  if (out instanceof ArrayBuffer) return Buffer.from(new Uint8Array(out));
  throw new Error('pptxgenjs did not return a buffer');
}

export function checkPhoto(photo: { bytes: Buffer; contentType: string }): {
  bytes: Buffer;
  format: 'png' | 'jpeg';
  width: number;
  height: number;
} {
  if (photo.bytes.length > MAX_PHOTO_BYTES) throw new TooLargeError('The group photo is too large for the poster (5 MB at most).');
  return { bytes: photo.bytes, ...readImageInfo(photo.bytes, photo.contentType) };
}

export function containIn(width: number, height: number, boxW: number, boxH: number): { w: number; h: number } {
  const scale = Math.min(boxW / width, boxH / height);
  return { w: width * scale, h: height * scale };
}

export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
