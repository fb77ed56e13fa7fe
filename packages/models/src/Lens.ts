/**
 * The logit lens at one position per prompt. The probe graph applies the lens (final norm,
 * unembedding, log-softmax over the whole vocabulary) at every position of every layer; a reader
 * of each prompt's last token pays for all of them, and on Gemma 3 the 262k-wide unembedding is
 * about thirty times a decoder layer's work per token. When the model folder has the lens head
 * (`onnx/lens.onnx`, `hyperwords_bridge.lens_head`), the hidden states come from the embedding
 * graph and the lens runs on the last positions only; without it, the probe graph answers as before.
 */
import { ModelInputError } from "./Errors.ts"
import { ort, runSession } from "./internal/sessions.ts"
import type { ProbeGraph } from "./Probe.ts"
import { runProbeOutputs } from "./Probe.ts"

/** The lens head's session. */
export interface LensGraph {
  readonly path: string
  readonly session: ort.InferenceSession
}

/** Lens log-probs of tracked ids at each prompt's last token: `[layer][row][tracked]`, flat. */
export interface LastLens {
  readonly data: Float32Array
  readonly dims: readonly [number, number, number]
}

/** Where the states and the lens come from. */
export interface LensSources {
  /** The graph that gives `hidden_states` (the embedding graph). */
  readonly states: ProbeGraph
  /** The lens head, or undefined: the probe graph computes the lens. */
  readonly lens: LensGraph | undefined
  /** The probe graph (used without a lens head). */
  readonly probe: () => Promise<ProbeGraph>
}

/**
 * The lens log-probs of each row's tracked ids at the row's last token, at every layer (`0..L`).
 * With a lens head: one pass of the embedding graph, then the lens on `B × (L+1)` rows.
 */
export const lensAtLast = async (
  sources: LensSources,
  ids: ReadonlyArray<ReadonlyArray<number>>,
  tracked: ReadonlyArray<ReadonlyArray<number>>
): Promise<LastLens> => {
  const b = ids.length
  const k = tracked[0]?.length ?? 0
  if (tracked.length !== b || k === 0 || tracked.some((r) => r.length !== k))
    throw new ModelInputError({
      path: sources.states.dir,
      detail: `tracked has ${tracked.length} rows of unequal or no ids for ${b} prompts`
    })
  if (sources.lens === undefined) {
    // only the tracked log-probs are fetched (not the attentions and every lens top-k)
    const lp = (await runProbeOutputs(await sources.probe(), { ids, tracked }, ["tracked_logprobs"]))
      .tracked_logprobs!
    const [layers, , t] = lp.dims as [number, number, number, number]
    const data = lp.data as Float32Array
    const out = new Float32Array(layers * b * k)
    for (let l = 0; l < layers; l++)
      for (let row = 0; row < b; row++) {
        const from = ((l * b + row) * t + ids[row]!.length - 1) * k
        out.set(data.subarray(from, from + k), (l * b + row) * k)
      }
    return { data: out, dims: [layers, b, k] }
  }
  const states = (await runProbeOutputs(sources.states, { ids }, ["hidden_states"])).hidden_states!
  const [layers, , t, h] = states.dims as [number, number, number, number]
  const hs = states.data as Float32Array
  const rows = new Float32Array(layers * b * h)
  const rowTracked = new BigInt64Array(layers * b * k)
  for (let l = 0; l < layers; l++)
    for (let row = 0; row < b; row++) {
      const at = l * b + row
      const from = ((l * b + row) * t + ids[row]!.length - 1) * h
      rows.set(hs.subarray(from, from + h), at * h)
      for (let j = 0; j < k; j++) rowTracked[at * k + j] = BigInt(tracked[row]![j]!)
    }
  const out = await runSession(
    sources.lens.session,
    sources.lens.path,
    {
      hidden: new ort.Tensor("float32", rows, [layers * b, h]),
      tracked_ids: new ort.Tensor("int64", rowTracked, [layers * b, k])
    },
    ["tracked_logprobs"]
  )
  return { data: Float32Array.from(out.tracked_logprobs!.data as Float32Array), dims: [layers, b, k] }
}
