/** Input tensors of the generation graph shared by the one-prompt and the batched decoders. */
import { ort } from "./sessions.ts"

/** An int64 tensor of ids, masks or positions. */
export const int64 = (values: ArrayLike<number>, dims: ReadonlyArray<number>): ort.Tensor =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims)

/** The empty key/value cache of `b` rows, by graph input name. */
export const emptyPast = (
  pastNames: ReadonlyArray<string>,
  b: number,
  config: { readonly numKeyValueHeads: number; readonly headDim: number }
): Record<string, ort.Tensor> =>
  Object.fromEntries(
    pastNames.map((n) => [
      n,
      new ort.Tensor("float32", new Float32Array(0), [b, config.numKeyValueHeads, 0, config.headDim])
    ])
  )

/**
 * Row `row`'s next-token logits from the generation graph's `logits`: its last position, for
 * a graph that gives every position fed (`[B, T, V]`) and for one cut to the last (`[B, 1, V]`,
 * `hyperwords_bridge.last_logits`).
 */
export const nextTokenLogits = (logits: ort.Tensor, row: number): Float32Array => {
  const [, positions, vocab] = logits.dims as [number, number, number]
  const end = (row + 1) * positions * vocab
  return (logits.data as Float32Array).subarray(end - vocab, end)
}
