// Reference tokenization by llama.cpp (node-llama-cpp's prebuilt CPU binary): the GGUF's own token ids.
// Usage: node scripts/llama-tokenize.mjs MODEL.gguf TEXT_FILE [--lines]
// Prints one JSON object on stdout: {"model": ..., "whole": [ids...], "lines": [[ids...], ...]}.
// Ids are the text's own tokens: no BOS/EOS added, special-token text not parsed.
import { readFile } from "node:fs/promises"
import { getLlama } from "node-llama-cpp"

const [modelPath, textPath] = process.argv.slice(2)
if (!modelPath || !textPath) {
  process.stderr.write("usage: llama-tokenize.mjs MODEL.gguf TEXT_FILE\n")
  process.exit(2)
}
const text = await readFile(textPath, "utf8")
// build: "never" — the prebuilt binary ships in @node-llama-cpp/linux-x64; building would need GitHub.
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" })
const model = await llama.loadModel({ modelPath, gpuLayers: 0 })
const tokenize = (s) => Array.from(model.tokenize(s, false), Number)
const lines = text.split("\n").filter((line) => line.length > 0)
process.stdout.write(
  `${JSON.stringify({
    model: modelPath,
    llamaCpp: llama.llamaCppRelease ?? null,
    bos: model.tokens.bos === null ? null : Number(model.tokens.bos),
    whole: tokenize(text),
    lines: lines.map(tokenize)
  })}\n`
)
await model.dispose()
await llama.dispose()
