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
  const ort = await import(extensionUrl("vendor/ort.wasm.min.mjs"));
  const { Tokenizer } = await import(extensionUrl("vendor/tokenizers.min.mjs"));
  ort.env.wasm.wasmPaths = extensionUrl("vendor/");
  // The WebAssembly runtime ships gzipped (it keeps the unpacked extension under 40 MB).
  const wasm = await fetch(extensionUrl("vendor/ort-wasm-simd-threaded.wasm.gz"));
  ort.env.wasm.wasmBinary = new Uint8Array(await new Response(wasm.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  const cores = navigator.hardwareConcurrency || 1;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, Math.min(4, cores)) : 1;
  const [manifest, tokenizerJson] = await Promise.all([
    fetch(extensionUrl("model/model.json")).then((r) => r.json()),
    fetch(extensionUrl("model/tokenizer.json")).then((r) => r.json()),
  ]);
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const encoder = await ort.InferenceSession.create(extensionUrl("model/encoder.onnx"), options);
  const context = await ort.InferenceSession.create(extensionUrl("model/context.onnx"), options);
  const vocab = tokenizerJson.model.vocab;
  state.analyzer = new DeviceAnalyzer({
    manifest, tokenizer: new Tokenizer(tokenizerJson, {}),
    ids: { cls: vocab["[CLS]"], sep: vocab["[SEP]"], unk: vocab["[UNK]"] },
    encoder, context, Tensor: ort.Tensor,
  });
  state.info = { name: manifest.name, version: manifest.version, loadMs: performance.now() - t0, threads: ort.env.wasm.numThreads };
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
