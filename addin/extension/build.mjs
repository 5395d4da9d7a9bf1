// Builds the extension: dist/chrome (load unpacked), dist/firefox (same source, Firefox
// manifest), and dist/pitchlint-chrome-<version>.zip for the Chrome Web Store.
// No bundler dependency: the ES modules under src/ are concatenated, in import order, into
// one classic script per entry point (content scripts cannot be modules).
// The Chrome build also ships the model for on-device analysis: the ONNX export that
// `pitchlint onnx export` writes (models/pitchlint-minilm-onnx/), checked against the hashes and
// the extension version recorded in manifest/extension/model.json, with onnxruntime-web's
// WebAssembly build and the tokenizer library (vendor/).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync, copyFileSync, statSync } from "node:fs";
import { dirname, join, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync, deflateRawSync, gzipSync } from "node:zlib";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const MANIFEST = join(ROOT, "manifest/extension/manifest.json");
const MODEL_LOCK = join(ROOT, "manifest/extension/model.json");
const PACKAGE_LIMIT_BYTES = 40 * 1000 * 1000;
// What on-device analysis needs at run time, from node_modules (package-lock.json pins them).
const VENDOR = {
  "vendor/ort.wasm.min.mjs": "onnxruntime-web/dist/ort.wasm.min.mjs",
  "vendor/ort-wasm-simd-threaded.mjs": "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs",
  // gzipped (14 MB -> 4 MB); the offscreen document inflates it and hands it to onnxruntime-web
  "vendor/ort-wasm-simd-threaded.wasm.gz": "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm",
  "vendor/tokenizers.min.mjs": "@huggingface/tokenizers/dist/tokenizers.min.mjs",
};
const DIST = join(HERE, "dist");
const GECKO_ID = "pitchlint@pitchlint.dev";

const IMPORT_RE = /^import\s+(?:[\s\S]*?)\s+from\s+["'](\.[^"']+)["'];?\s*$/gm;

/** Concatenates `entry` and the modules it imports (depth first) into one IIFE. */
export function bundle(entry) {
  const order = [];
  const seen = new Set();
  function visit(file) {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(IMPORT_RE)) visit(resolve(dirname(file), m[1]));
    order.push({ file, source });
  }
  visit(resolve(entry));
  const names = new Map();
  for (const { file, source } of order) {
    for (const m of source.matchAll(/^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)/gm)) {
      if (names.has(m[1])) throw new Error(`${m[1]} is declared in both ${names.get(m[1])} and ${file}; top-level names must be unique`);
      names.set(m[1], file);
    }
  }
  const body = order.map(({ file, source }) => {
    const code = source.replace(IMPORT_RE, "").replace(/^export\s+(?=(async\s+)?function|class|const|let)/gm, "");
    if (/^\s*export\s/m.test(code)) throw new Error(`${file}: only "export function|class|const|let" is supported by build.mjs`);
    return `// ---- ${relative(HERE, file)}\n${code.trim()}\n`;
  }).join("\n");
  return `// Pitchlint — built by build.mjs from src/; edit the sources, not this file.\n(() => {\n"use strict";\n${body}})();\n`;
}

// ---- icons: a rounded red square with a white underline mark, drawn pixel by pixel.
function crc32(buf) {
  let c = ~0;
  for (let i = 0; i < buf.length; i++) {
    c ^= buf[i];
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
export function iconPng(size) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const r = size * 0.2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const dx = Math.max(r - x - 0.5, 0, x + 0.5 - (size - r));
      const dy = Math.max(r - y - 0.5, 0, y + 0.5 - (size - r));
      const inside = dx * dx + dy * dy <= r * r;
      const wave = Math.abs(y - (size * 0.62 + Math.sin((x / size) * Math.PI * 4) * size * 0.06)) < Math.max(1, size * 0.06);
      const bar = x > size * 0.2 && x < size * 0.8 && y > size * 0.25 && y < size * 0.25 + Math.max(1, size * 0.12);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      const white = (wave && x > size * 0.15 && x < size * 0.85) || bar;
      raw[o] = white ? 255 : 217; raw[o + 1] = white ? 255 : 48; raw[o + 2] = white ? 255 : 37; raw[o + 3] = inside ? 255 : 0;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk("IHDR", ihdr), pngChunk("IDAT", deflateSync(raw)), pngChunk("IEND", Buffer.alloc(0))]);
}

// ---- zip (deflate), enough for the Chrome Web Store.
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  const time = ((12 << 11) | (0 << 5)) & 0xffff; // fixed timestamp: the same source gives the same zip
  const date = (((2026 - 1980) << 9) | (1 << 5) | 1) & 0xffff;
  for (const { name, data } of files) {
    const nameBuf = Buffer.from(name, "utf8");
    const compressed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6); local.writeUInt16LE(8, 8);
    local.writeUInt16LE(time, 10); local.writeUInt16LE(date, 12); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0x0800, 8); central.writeUInt16LE(8, 10);
    central.writeUInt16LE(time, 12); central.writeUInt16LE(date, 14); central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, compressed);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + compressed.length;
  }
  const centralBuf = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBuf.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBuf, end]);
}

export function firefoxManifest(chrome) {
  const m = structuredClone(chrome);
  m.background = { scripts: [chrome.background.service_worker] };
  delete m.minimum_chrome_version;
  // No offscreen documents in Firefox: the Firefox build analyses on the service only.
  m.permissions = m.permissions.filter((p) => p !== "offscreen");
  delete m.content_security_policy;
  delete m.cross_origin_embedder_policy;
  delete m.cross_origin_opener_policy;
  m.browser_specific_settings = { gecko: { id: GECKO_ID, strict_min_version: "142.0", data_collection_permissions: { required: ["none"] } } };
  return m;
}

export function sha256(data) {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The model files for on-device analysis, after checking them against manifest/extension/model.json:
 * each file's sha256, and that the extension's version is the one the lock was written for
 * (a new model ships with a new extension version). Throws with what to run otherwise.
 */
export function modelFiles(manifest, lock = JSON.parse(readFileSync(MODEL_LOCK, "utf8")), root = ROOT) {
  const dir = join(root, lock.export);
  const redo = "run `pitchlint onnx export` (it re-exports the model in models/pitchlint-minilm, records the new hashes in manifest/extension/model.json and raises the extension's version)";
  if (!existsSync(join(dir, "model.json"))) throw new Error(`no ONNX export at ${lock.export}: ${redo}`);
  if (lock.extension_version !== manifest.version) {
    throw new Error(`manifest/extension/model.json was written for extension ${lock.extension_version}, but the manifest says ${manifest.version}: a model ships with the version it was locked for; ${redo}`);
  }
  const out = {};
  for (const [name, digest] of Object.entries(lock.files)) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`${lock.export}/${name} is missing: ${redo}`);
    const data = readFileSync(path);
    const got = sha256(data);
    if (got !== digest) throw new Error(`${lock.export}/${name} has sha256 ${got.slice(0, 16)}…, not the ${digest.slice(0, 16)}… that manifest/extension/model.json records: ${redo}`);
    out[`model/${name}`] = data;
  }
  return out;
}

export function vendorFiles() {
  const out = {};
  for (const [name, from] of Object.entries(VENDOR)) {
    const path = join(HERE, "node_modules", from);
    if (!existsSync(path)) throw new Error(`${from} is missing from node_modules: run \`npm ci\` in addin/extension`);
    out[name] = name.endsWith(".gz") ? gzipSync(readFileSync(path), { level: 9 }) : readFileSync(path);
  }
  return out;
}

export function build() {
  const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
  const onDevice = {
    "offscreen.html": readFileSync(join(HERE, "src/offscreen/offscreen.html")),
    "offscreen.js": bundle(join(HERE, "src/offscreen/offscreen.js")),
    ...vendorFiles(),
    ...modelFiles(manifest),
  };
  const files = {
    "background.js": bundle(join(HERE, "src/background/service-worker.js")),
    "content.js": bundle(join(HERE, "src/content/content.js")),
    "options.js": bundle(join(HERE, "src/options/options.js")),
    "content.css": readFileSync(join(HERE, "src/content/content.css")),
    "options.html": readFileSync(join(HERE, "src/options/options.html")),
    "options.css": readFileSync(join(HERE, "src/options/options.css")),
  };
  for (const size of [16, 32, 48, 128]) files[`icons/icon-${size}.png`] = iconPng(size);
  rmSync(DIST, { recursive: true, force: true });
  const out = {};
  for (const [target, m] of [["chrome", manifest], ["firefox", firefoxManifest(manifest)]]) {
    const dir = join(DIST, target);
    const all = { "manifest.json": `${JSON.stringify(m, null, 2)}\n`, ...files, ...(target === "chrome" ? onDevice : {}) };
    for (const [name, data] of Object.entries(all)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), data);
    }
    const zipName = `pitchlint-${target}-${m.version}.zip`;
    writeFileSync(join(DIST, zipName), zip(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)).map(([name, data]) => ({ name, data: Buffer.from(data) }))));
    const unpacked = Object.values(all).reduce((n, data) => n + Buffer.byteLength(data), 0);
    const packed = statSync(join(DIST, zipName)).size;
    if (packed > PACKAGE_LIMIT_BYTES) throw new Error(`${zipName} is ${(packed / 1e6).toFixed(1)} MB; the package limit is ${PACKAGE_LIMIT_BYTES / 1e6} MB`);
    out[target] = { dir, zip: join(DIST, zipName), unpacked, packed };
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = build();
  for (const [target, { dir, zip: z, unpacked, packed }] of Object.entries(out)) {
    console.log(`${target}: ${relative(process.cwd(), dir)} (${(unpacked / 1e6).toFixed(1)} MB)  ${relative(process.cwd(), z)} (${(packed / 1e6).toFixed(1)} MB)`);
  }
}
