/** `hyperwords generate --model NAME [--max-tokens N] [--seed N] [--temperature T] PROMPT`: text from a model, streamed. */
import { jsonFlag, printResult } from "@hyperwords/core/Output"
import { Console, Effect, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Models } from "./Models.ts"

/** The `generate` command: greedy by default; `--seed` or `--temperature` sample (deterministic for a seed). */
export const generateCommand = Command.make(
  "generate",
  {
    model: Flag.String("model").pipe(
      Flag.withDescription("a registered model (gemma-3-270m, smollm2-135m) or a model directory"),
      Flag.withDefault("gemma-3-270m")
    ),
    maxTokens: Flag.Int("max-tokens").pipe(
      Flag.withDescription("tokens to generate at most"),
      Flag.withDefault(64)
    ),
    seed: Flag.Int("seed").pipe(
      Flag.withDescription("sample with this seed (default: greedy)"),
      Flag.optional
    ),
    temperature: Flag.Finite("temperature").pipe(Flag.withDescription("sampling temperature"), Flag.optional),
    topP: Flag.Finite("top-p").pipe(Flag.withDescription("nucleus sampling"), Flag.optional),
    dtype: Flag.Literals("dtype", ["fp32", "q8", "w8", "w4"]).pipe(
      Flag.withDescription("the generation graph: fp32, q8 (dynamic int8), w8 or w4 (weight-only, if made)"),
      Flag.withDefault("fp32" as const)
    ),
    json: jsonFlag,
    prompt: Argument.String("prompt")
  },
  (args) =>
    Effect.gen(function* () {
      const models = yield* Models
      const model = yield* models.load(args.model, { dtype: args.dtype })
      const sampled = Option.isSome(args.seed) || Option.isSome(args.temperature) || Option.isSome(args.topP)
      const sampling = sampled
        ? {
            ...(Option.isSome(args.seed) ? { seed: args.seed.value } : {}),
            ...(Option.isSome(args.temperature) ? { temperature: args.temperature.value } : {}),
            ...(Option.isSome(args.topP) ? { topP: args.topP.value } : {})
          }
        : undefined
      const options = { maxNewTokens: args.maxTokens, ...(sampling ? { sampling } : {}) }
      if (args.json) {
        // the whole text, once it is made: one document
        const pieces: Array<string> = []
        yield* models
          .stream(model, args.prompt, options)
          .pipe(Stream.runForEach((t) => Effect.sync(() => pieces.push(t.text))))
        const text = pieces.join("")
        return yield* printResult(true, "", {
          model: model.name,
          prompt: args.prompt,
          text,
          tokens: pieces.length,
          maxTokens: args.maxTokens,
          sampling: sampling ?? null
        })
      }
      yield* Effect.sync(() => process.stdout.write(args.prompt))
      yield* models
        .stream(model, args.prompt, options)
        .pipe(Stream.runForEach((t) => Effect.sync(() => process.stdout.write(t.text))))
      yield* Console.log("")
    }).pipe(Effect.provide(Models.layerScoped))
).pipe(
  Command.withDescription("generate text with a model (offline, ONNX); greedy unless --seed/--temperature")
)
