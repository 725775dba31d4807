#!/usr/bin/env node
// Generates the extension's PNG icons without any image library: a blue shield with a white
// check mark, drawn with 4x4 supersampling and written as an RGBA PNG via node:zlib.
//
//   node scripts/make-icons.mjs        -> images/extension-icon.png (128x128), images/task-icon.png (32x32)
//
// The PNGs are committed; re-run this only to change the artwork.
import { deflateSync } from "node:zlib";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const SHIELD = [0x00, 0x78, 0xd4]; // Azure blue
const SHIELD_EDGE = [0x00, 0x4e, 0x8c]; // darker rim
const MARK = [0xff, 0xff, 0xff];

/** Half-width of the shield at height y (0 = top, 1 = bottom), in units of the icon half-size. */
function shieldHalfWidth(y) {
  const top = 0.06;
  const shoulder = 0.5;
  const tip = 0.96;
  if (y < top || y > tip) return -1;
  if (y <= shoulder) return 0.82;
  const t = (y - shoulder) / (tip - shoulder); // 0..1
  return 0.82 * Math.sqrt(Math.max(0, 1 - t * t));
}

function distToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  const cx = ax + t * dx;
  const cy = ay + t * dy;
  return Math.hypot(px - cx, py - cy);
}

/** Colour of one sample point; x in [-1, 1] (left to right), y in [0, 1] (top to bottom). */
function sample(x, y, rim) {
  const hw = shieldHalfWidth(y);
  if (hw < 0 || Math.abs(x) > hw) return null;
  // check mark: two strokes
  const d = Math.min(distToSegment(x, y, -0.4, 0.47, -0.1, 0.72), distToSegment(x, y, -0.1, 0.72, 0.45, 0.26));
  if (d < 0.085) return MARK;
  // rim: inside the shield but close to its outline
  const inner = shieldHalfWidth(y - rim) >= 0 && shieldHalfWidth(y + rim) >= 0;
  if (!inner || Math.abs(x) > hw - rim) return SHIELD_EDGE;
  return SHIELD;
}

function render(size) {
  const ss = 4; // supersampling per axis
  const rim = Math.max(2 / size, 0.04);
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = ((px + (sx + 0.5) / ss) / size) * 2 - 1;
          const y = (py + (sy + 0.5) / ss) / size;
          const c = sample(x, y, rim);
          if (c) {
            r += c[0];
            g += c[1];
            b += c[2];
            a += 1;
          }
        }
      }
      const o = (py * size + px) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
      }
      rgba[o + 3] = Math.round((a / (ss * ss)) * 255);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter
  ihdr[12] = 0; // no interlace
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter type None
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const outputs = [
  ["images/extension-icon.png", 128],
  ["images/task-icon.png", 32],
];
for (const [rel, size] of outputs) {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  const png = encodePng(size, size, render(size));
  writeFileSync(file, png);
  console.log(`${rel}: ${size}x${size}, ${png.length} bytes`);
}
