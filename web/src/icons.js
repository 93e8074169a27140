// Map icons drawn on a canvas at start-up: no sprite sheet, no glyph server, nothing remote.

import { BACKGROUND, CAR_FREE_COLOUR, POINT_COLOURS } from './palette.js';

const RATIO = 2;
const SIZE = 26;

function canvas(size) {
  const c = document.createElement('canvas');
  c.width = size * RATIO;
  c.height = size * RATIO;
  const ctx = c.getContext('2d');
  ctx.scale(RATIO, RATIO);
  return [c, ctx];
}

function badge(colour, drawGlyph, { square = false } = {}) {
  const [c, ctx] = canvas(SIZE);
  const r = SIZE / 2 - 1.5;
  ctx.beginPath();
  if (square) ctx.roundRect(1.5, 1.5, SIZE - 3, SIZE - 3, 5);
  else ctx.arc(SIZE / 2, SIZE / 2, r, 0, Math.PI * 2);
  ctx.fillStyle = BACKGROUND;
  ctx.fill();
  ctx.lineWidth = 2.2;
  ctx.strokeStyle = colour;
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.strokeStyle = colour;
  drawGlyph(ctx);
  return ctx.getImageData(0, 0, c.width, c.height);
}

function letters(text, px = 12) {
  return (ctx) => {
    ctx.font = `700 ${px}px "DejaVu Sans", "Noto Sans", Arial, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, SIZE / 2, SIZE / 2 + 0.5);
  };
}

function bolt(ctx) {
  ctx.beginPath();
  ctx.moveTo(14.5, 5.5);
  ctx.lineTo(8.5, 14.5);
  ctx.lineTo(12.5, 14.5);
  ctx.lineTo(11.5, 20.5);
  ctx.lineTo(17.5, 11.5);
  ctx.lineTo(13.5, 11.5);
  ctx.closePath();
  ctx.fill();
}

function camera(ctx) {
  ctx.beginPath();
  ctx.roundRect(6.5, 9.5, 10, 7, 1.5);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(16.5, 12);
  ctx.lineTo(20.5, 9.5);
  ctx.lineTo(20.5, 16.5);
  ctx.lineTo(16.5, 14);
  ctx.closePath();
  ctx.fill();
}

function sensor(ctx) {
  ctx.beginPath();
  ctx.arc(SIZE / 2, SIZE / 2 + 3, 2.2, 0, Math.PI * 2);
  ctx.fill();
  ctx.lineWidth = 1.6;
  for (const radius of [5.5, 9]) {
    ctx.beginPath();
    ctx.arc(SIZE / 2, SIZE / 2 + 3, radius, Math.PI * 1.2, Math.PI * 1.8);
    ctx.stroke();
  }
}

function hatch(colour) {
  const size = 12;
  const [c, ctx] = canvas(size);
  ctx.strokeStyle = colour;
  ctx.globalAlpha = 0.34;
  ctx.lineWidth = 1.3;
  for (const offset of [-size, 0, size]) {
    ctx.beginPath();
    ctx.moveTo(offset, size);
    ctx.lineTo(offset + size, 0);
    ctx.stroke();
  }
  return ctx.getImageData(0, 0, c.width, c.height);
}

let drawn = null;

/** Every icon as [name, ImageData], drawn once; `addIcons` registers them on a map. */
export function drawIcons() {
  drawn ??= [
    ['icon-brt', badge(POINT_COLOURS.brt, letters('B', 13))],
    ['icon-shuttle', badge(POINT_COLOURS.shuttle, letters('S', 13))],
    ['icon-pmStation', badge(POINT_COLOURS.pmStation, letters('PM', 9.5), { square: true })],
    ['icon-cctv', badge(POINT_COLOURS.cctv, camera, { square: true })],
    ['icon-evCharger', badge(POINT_COLOURS.evCharger, bolt, { square: true })],
    ['icon-parking', badge(POINT_COLOURS.parking, letters('P', 14), { square: true })],
    ['icon-facility', badge(POINT_COLOURS.facility, letters('i', 14), { square: true })],
    ['icon-device', badge(POINT_COLOURS.device, sensor, { square: true })],
    ['icon-airSensor', badge(POINT_COLOURS.device, sensor, { square: true })],
    ['hatch-carfree', hatch(CAR_FREE_COLOUR)],
  ];
  return drawn;
}

/** Register the icons on `map` (pixel ratio 2, crisp on high-density screens). */
export function addIcons(map) {
  for (const [name, image] of drawIcons()) {
    if (!map.hasImage(name)) map.addImage(name, image, { pixelRatio: RATIO });
  }
}

/** A data: URL of one icon, for the legend. */
export function iconUrl(name) {
  const found = drawIcons().find(([n]) => n === name);
  if (!found) return '';
  const [, image] = found;
  const c = document.createElement('canvas');
  c.width = image.width;
  c.height = image.height;
  c.getContext('2d').putImageData(image, 0, 0);
  return c.toDataURL('image/png');
}
