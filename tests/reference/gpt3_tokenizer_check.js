// Compares w2s's GPT-2 token ids with the JavaScript `gpt-3-encoder` package, line by line.
//
// usage: node gpt3_tokenizer_check.js <gpt-3-encoder package dir> <corpus> <w2s ids> <w2s decoded>
//   corpus:      the lines (UTF-8, '\n'-separated)
//   w2s ids:     `w2s tokenize < corpus`: space-separated ids, one line per corpus line
//   w2s decoded: `w2s tokenize --decode < ids`: must give back the corpus exactly
// Exits 1 (printing the first mismatches with both id lists) unless everything agrees.
//
// The reference is the published package, unmodified, for every line except those holding
// U+0085 or U+FEFF. There the package and OpenAI's own encoder (gpt-2/src/encoder.py, the one
// real GPT-2 checkpoints were trained with) disagree: Python's `regex` \s is Unicode's
// White_Space (U+0085 yes, U+FEFF no), ECMAScript's \s the reverse. w2s follows OpenAI, so
// those lines (hand-written edge cases; no real corpus line has them) are checked against the
// package's Encoder.js loaded with \s spelled as White_Space, and the check proves that this
// is the only difference: every line where the two disagree must contain U+0085 or U+FEFF.
//
// Two other quirks of the package were examined and do not matter here: its merge ranks are
// keyed by the string `${a},${b}`, so a pair whose parts contain commas can collide with
// another pair (11 such keys in vocab.bpe), but a colliding pair never forms before its merge
// applies, so no encoding changes (checked against OpenAI's algorithm on 100k punctuation
// strings); and lone surrogates (which TextEncoder would turn into U+FFFD) cannot occur, since
// the corpus is valid UTF-8 read as UTF-8.
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, corpusFile, idsFile, decodedFile] = process.argv.slice(2);
if (!decodedFile) {
  console.error('usage: node gpt3_tokenizer_check.js <package dir> <corpus> <w2s ids> <w2s decoded>');
  process.exit(2);
}

const PUBLISHED_PATTERN = String.raw`/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu`;
const WS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;  // White_Space
const OPENAI_PATTERN = String.raw`/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+/gu`;

// Loads Encoder.js as a module, with its pattern replaced when `pattern` is given.
function loadEncoder(pattern) {
  const file = path.join(packageDir, 'Encoder.js');
  let source = fs.readFileSync(file, 'utf8');
  if (pattern) {
    if (!source.includes(PUBLISHED_PATTERN)) throw new Error(`${file}: the GPT-2 pattern is not where expected`);
    source = source.replace(PUBLISHED_PATTERN, () => pattern);
  }
  const module = { exports: {} };
  new Function('require', '__dirname', 'module', 'exports', source)(require, packageDir, module, module.exports);
  return module.exports;
}

function readLines(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();  // the final newline ends a line, not starts one
  return lines;
}

const published = loadEncoder(null);
const openai = loadEncoder(OPENAI_PATTERN);
const corpus = readLines(corpusFile);
const got = readLines(idsFile);
const decoded = readLines(decodedFile);

const failures = [];
if (got.length !== corpus.length) failures.push(`w2s gave ${got.length} id lines for ${corpus.length} corpus lines`);
if (decoded.length !== corpus.length) failures.push(`w2s decoded ${decoded.length} lines of ${corpus.length}`);

let mismatches = 0, roundTripFailures = 0, publishedDiffers = 0, specialLines = 0, tokens = 0;
const show = (s) => JSON.stringify(s.length > 160 ? s.slice(0, 160) + '...' : s);
for (let i = 0; i < corpus.length; i++) {
  const line = corpus[i];
  const special = /[\u0085\ufeff]/.test(line);
  const fromPackage = published.encode(line).join(' ');
  const fromOpenAI = openai.encode(line).join(' ');
  const expected = special ? fromOpenAI : fromPackage;
  tokens += expected === '' ? 0 : expected.split(' ').length;
  if (fromPackage !== fromOpenAI) {
    publishedDiffers++;
    if (!special) failures.push(`line ${i + 1}: OpenAI's \\s changed a line without U+0085/U+FEFF: ${show(line)}`);
  }
  if (special) specialLines++;
  if (got[i] !== expected) {
    if (++mismatches <= 5) {
      failures.push(`line ${i + 1} ${show(line)}\n    js:  ${expected}\n    w2s: ${got[i]}`);
    }
  }
  if (decoded[i] !== line) {
    if (++roundTripFailures <= 5) failures.push(`line ${i + 1}: decode(encode(line)) = ${show(decoded[i] ?? '')} != ${show(line)}`);
  }
}

console.log(`${corpus.length} lines, ${tokens} tokens: ${mismatches} mismatches (reference: the published JS ` +
            `package on ${corpus.length - specialLines} lines, OpenAI's \\s on the ${specialLines} lines with ` +
            `U+0085/U+FEFF, ${publishedDiffers} of which tokenize differently there), ` +
            `${roundTripFailures} round-trip failures`);
if (failures.length) {
  console.log('FAILED:\n  ' + failures.join('\n  '));
  process.exit(1);
}
