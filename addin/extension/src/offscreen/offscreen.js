// The offscreen document: loads the ONNX export (model/) into onnxruntime-web (WebAssembly,
// threads when the page is cross-origin isolated) and answers the service worker's "analyze"
// messages with the analyze contract's answer. Nothing here touches the network: the model,
// the runtime and the tokenizer are files of the extension.
import { DeviceAnalyzer, DeviceAnalyzeError } from "../lib/device.js";

const state = { loading: null, analyzer: null, info: null, queue: Promise.resolve() };

function extensionUrl(path) {
  return chrome.runtime.getURL(path);
}

async function loadModel() {
  const t0 = performance.now();
  const phases = {};
  const mark = (name, since) => { phases[name] = Math.round(performance.now() - since); };
  // Everything that only reads the extension's files starts at once; the sessions need the runtime.
  const runtime = (async () => {
    const t = performance.now();
    const ort = await import(extensionUrl("vendor/ort.wasm.min.mjs"));
    mark("runtime_import", t);
    return ort;
  })();
  const wasmBinary = (async () => {
    const t = performance.now();
    // The WebAssembly runtime ships gzipped (it keeps the unpacked extension under 40 MB).
    const wasm = await fetch(extensionUrl("vendor/ort-wasm-simd-threaded.wasm.gz"));
    const bytes = new Uint8Array(await new Response(wasm.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    mark("runtime_inflate", t);
    return bytes;
  })();
  const files = (async () => {
    const t = performance.now();
    const [{ Tokenizer }, manifest, tokenizerJson] = await Promise.all([
      import(extensionUrl("vendor/tokenizers.min.mjs")),
      fetch(extensionUrl("model/model.json")).then((r) => r.json()),
      fetch(extensionUrl("model/tokenizer.json")).then((r) => r.json()),
    ]);
    const tokenizer = new Tokenizer(tokenizerJson, {});
    mark("tokenizer", t);
    return { manifest, tokenizer, vocab: tokenizerJson.model.vocab };
  })();
  const models = ["encoder", "context"].map(async (name) => {
    const t = performance.now();
    const bytes = new Uint8Array(await (await fetch(extensionUrl(`model/${name}.onnx`))).arrayBuffer());
    mark(`${name}_read`, t);
    return bytes;
  });
  const ort = await runtime;
  ort.env.wasm.wasmPaths = extensionUrl("vendor/");
  ort.env.wasm.wasmBinary = await wasmBinary;
  const cores = navigator.hardwareConcurrency || 1;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, Math.min(4, cores)) : 1;
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const sessions = [];
  // The small context model first: its session starts the runtime (compiles the WebAssembly,
  // starts its threads), so the phases say how long each part takes.
  for (const [i, name] of [[1, "context"], [0, "encoder"]]) {
    const bytes = await models[i];
    const t = performance.now();
    sessions[i] = await ort.InferenceSession.create(bytes, options);
    mark(`${name}_session`, t);
  }
  const [encoder, context] = sessions;
  const { manifest, tokenizer, vocab } = await files;
  state.analyzer = new DeviceAnalyzer({
    manifest, tokenizer,
    ids: { cls: vocab["[CLS]"], sep: vocab["[SEP]"], unk: vocab["[UNK]"] },
    encoder, context, Tensor: ort.Tensor,
  });
  state.info = { name: manifest.name, version: manifest.version, loadMs: performance.now() - t0, threads: ort.env.wasm.numThreads, phases };
  return state.analyzer;
}

function ready() {
  if (!state.loading) state.loading = loadModel().catch((e) => { state.loading = null; throw e; });
  return state.loading;
}

// One analysis at a time: a WebAssembly session runs one call at once.
function serially(fn) {
  const run = state.queue.then(fn, fn);
  state.queue = run.catch(() => {});
  return run;
}

async function handle(message) {
  switch (message.type) {
    case "prepare":
      await ready();
      return { ok: true, model: state.info };
    case "analyze": {
      const analyzer = await ready();
      const r = message.request || {};
      return serially(async () => {
        const t0 = performance.now();
        const data = await analyzer.analyze({ text: r.text, subject: r.subject });
        return { ok: true, data: { ...data, on_device: true }, ms: performance.now() - t0 };
      });
    }
    case "benchmark": {
      // Figures for test/e2e (debug builds of the check only): cold analyses of one email.
      const analyzer = await ready();
      return serially(async () => {
        const times = [];
        const edits = [];
        for (let i = 0; i < (message.runs || 20); i++) {
          analyzer.cache.clear();
          let t0 = performance.now();
          await analyzer.analyze({ text: message.text });
          times.push(performance.now() - t0);
          if (message.changed) { // as someone types: one sentence new, the others cached
            t0 = performance.now();
            await analyzer.analyze({ text: message.changed });
            edits.push(performance.now() - t0);
          }
        }
        return { ok: true, times, edits, model: state.info };
      });
    }
    default:
      return { ok: false, error: { kind: "bad_request", message: `unknown message ${message.type}` } };
  }
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!message || message.target !== "offscreen" || sender.id !== chrome.runtime.id) return false;
  handle(message).then(sendResponse, (e) => {
    if (e instanceof DeviceAnalyzeError) sendResponse({ ok: false, error: { kind: "bad_request", code: e.code, message: e.message } });
    else sendResponse({ ok: false, error: { kind: "device", message: `The model on this device failed: ${(e && e.message) || e}` } });
  });
  return true;
});
