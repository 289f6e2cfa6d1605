// Runs an ONNX model in ONNX Runtime's CPU execution provider (npm onnxruntime-node) on one
// float32 .npy input and writes its first output as a float32 .npy file. Used by the export
// tests (tests/export/test_onnxruntime.cpp) to check dalnas's exports with a real runtime.
//   node tools/onnxruntime/run.js MODEL.onnx INPUT.npy OUTPUT.npy [--no-optimize]
// --no-optimize turns ONNX Runtime's graph optimisations off (each node runs as written).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function fail(msg) {
  process.stderr.write('onnxruntime: ' + msg + '\n');
  process.exit(1);
}

function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') fail(file + ': not a .npy file');
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString('latin1', start, start + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) fail(file + ': expected little-endian float32');
  if (/'fortran_order':\s*True/.test(header)) fail(file + ': Fortran order');
  const m = header.match(/'shape':\s*\(([^)]*)\)/);
  if (!m) fail(file + ': no shape');
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const off = start + hlen;
  const n = shape.reduce((a, c) => a * c, 1);
  if (b.length - off !== 4 * n) fail(file + ': data size does not match the shape');
  const data = new Float32Array(n);
  for (let i = 0; i < n; ++i) data[i] = b.readFloatLE(off + 4 * i);
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
      shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; ++i) body.writeFloatLE(data[i], 4 * i);
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, Buffer.concat([h, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(tmp, file);
}

async function main() {
  const args = process.argv.slice(2);
  const noOpt = args.includes('--no-optimize');
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length !== 3) fail('usage: run.js MODEL.onnx INPUT.npy OUTPUT.npy [--no-optimize]');
  const [model, input, output] = files;
  const x = readNpy(input);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: noOpt ? 'disabled' : 'all',
    intraOpNumThreads: 1,
  });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', x.data, x.shape);
  const out = await session.run(feeds);
  const y = out[session.outputNames[0]];
  if (y.type !== 'float32') fail('output is ' + y.type + ', not float32');
  writeNpy(output, y.dims, y.data);
}

main().catch((e) => fail(String(e && e.message ? e.message : e)));
