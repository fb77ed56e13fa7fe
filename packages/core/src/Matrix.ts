/**
 * Several base models in one pipeline: `models: { model: ["gemma-3-270m", "smollm2-135m", "./my-model"] }`
 * in the params (or a profile's) makes a matrix. Every stage that reads the `models` stage, directly
 * or through another, runs once per base as `<id>@<base>` (`finetune@smollm2-135m`), reading its own
 * base's copies; the stages families make for a per-base output are bound to that base the same
 * way; a stage that gathers several bases (the leaderboard) stays one. A per-base stage keys as its
 * plain id would (`Stage.matrix.id`), so a base's stages keep their cache when bases are added or
 * reordered, and their exports go to `reports/<base>/`. One model, or a list of one, is the plain
 * pipeline: the same stage ids and keys as before.
 *
 * An input ref with `matrix: "first"` reads the first base's copy from every base (the judge of the
 * evaluations: one judge for the whole board, so scores compare across bases).
 */
import { basename } from "node:path"
import { isStageFamily, makeFamily } from "./Families.ts"
import type { InputRef, Stage } from "./Stage.ts"

// biome-ignore lint/suspicious/noExplicitAny: stages have params of different types
type AnyStage = Stage<any>

/** The stage whose `model` param lists the bases. */
export const AXIS_STAGE = "models"
/** The param of the axis stage that names the model (a string, or a list of them). */
export const AXIS_PARAM = "model"

/** `finetune` for base `smollm2-135m` → `finetune@smollm2-135m`; no base: the id itself. */
export const withBase = (id: string, base: string | undefined): string =>
  base === undefined ? id : `${id}@${base}`

/** `finetune@smollm2-135m` → `{ id: "finetune", base: "smollm2-135m" }`; an id without base: `{ id }`. */
export const splitBase = (id: string): { readonly id: string; readonly base?: string } => {
  const at = id.lastIndexOf("@")
  return at <= 0 ? { id } : { id: id.slice(0, at), base: id.slice(at + 1) }
}

/** The label of a base in stage ids and report folders: a name as is, a folder by its last part. */
export const baseLabel = (model: string): string => {
  const last = /[/\\]/.test(model) || model.startsWith(".") ? basename(model.replace(/[/\\]+$/, "")) : model
  const label = last.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+/, "")
  return label === "" ? "model" : label
}

/** A base of the matrix: the model as written in the params and its label. */
export interface Base {
  readonly model: string
  readonly label: string
}

/**
 * The bases a raw `model` param names: a list gives its models (labels checked for clashes), a
 * string none (the plain pipeline). Throws on an empty list, a non-string entry or two bases with
 * the same label.
 */
export const basesOf = (model: unknown): ReadonlyArray<Base> | undefined => {
  if (!Array.isArray(model)) return undefined
  if (model.length === 0) throw new Error(`params.${AXIS_STAGE}.${AXIS_PARAM} is an empty list: name a model`)
  const out: Array<Base> = []
  for (const m of model) {
    if (typeof m !== "string" || m === "")
      throw new Error(
        `params.${AXIS_STAGE}.${AXIS_PARAM} lists ${JSON.stringify(m)}: a model is a name or a folder`
      )
    const label = baseLabel(m)
    const clash = out.find((b) => b.label === label)
    if (clash !== undefined)
      throw new Error(
        `params.${AXIS_STAGE}.${AXIS_PARAM} lists "${clash.model}" and "${m}", both labelled "${label}" in stage ids: rename one folder`
      )
    out.push({ model: m, label })
  }
  return out
}

/**
 * The config's entries for these bases: none or one base leaves them as they are (one base only
 * fixes the axis stage's `model` param to the string); several copy every stage that depends on
 * the axis stage once per base and bind what the families make (see the module comment).
 */
export const expandMatrix = (
  entries: ReadonlyArray<unknown>,
  bases: ReadonlyArray<Base> | undefined
): Array<unknown> => {
  if (bases === undefined) return [...entries]
  if (bases.length === 1) {
    const only = bases[0]!
    return entries.map((e) =>
      !isStageFamily(e) && (e as AnyStage)?.id === AXIS_STAGE
        ? { ...(e as AnyStage), fixedParams: { ...(e as AnyStage).fixedParams, [AXIS_PARAM]: only.model } }
        : e
    )
  }
  const first = bases[0]!.label
  const perBase = new Set<string>([AXIS_STAGE])
  // a stage is per base when it reads a per-base stage (stages may be declared in any order)
  const stages = entries.filter(
    (e): e is AnyStage => !isStageFamily(e) && typeof (e as AnyStage)?.id === "string"
  )
  for (let changed = true; changed; ) {
    changed = false
    for (const s of stages)
      if (!perBase.has(s.id) && Object.values(s.inputs).some((r) => perBase.has(r.stage))) {
        perBase.add(s.id)
        changed = true
      }
  }
  const out: Array<unknown> = []
  for (const entry of entries) {
    if (isStageFamily(entry)) {
      out.push(
        makeFamily(entry.label, (before) =>
          entry
            .expand(before)
            .map((made) => (made === undefined ? undefined : bindMade(made, perBase, first)))
        )
      )
      continue
    }
    const stage = entry as AnyStage
    if (typeof stage?.id !== "string" || !perBase.has(stage.id)) {
      out.push(entry)
      continue
    }
    for (const b of bases) out.push(copyFor(stage, b, perBase, first))
  }
  return out
}

const rebind = (ref: InputRef, base: string, perBase: ReadonlySet<string>, first: string): InputRef => {
  if (!perBase.has(ref.stage)) return ref
  return { ...ref, stage: withBase(ref.stage, ref.matrix === "first" ? first : base) }
}

const copyFor = (stage: AnyStage, b: Base, perBase: ReadonlySet<string>, first: string): AnyStage => ({
  ...stage,
  id: withBase(stage.id, b.label),
  inputs: Object.fromEntries(
    Object.entries(stage.inputs).map(([name, ref]) => [name, rebind(ref, b.label, perBase, first)])
  ),
  matrix: { id: stage.id, base: b.label },
  ...(stage.id === AXIS_STAGE ? { fixedParams: { ...stage.fixedParams, [AXIS_PARAM]: b.model } } : {})
})

/**
 * A stage a family made: bound to the one base its per-base inputs come from (its id gets the
 * base when it lacks it, its plain refs to per-base stages read that base's copies); a stage
 * reading several bases (a board) or none is left as it is, but a plain ref of it to a per-base
 * stage is ambiguous and fails.
 */
const bindMade = (made: AnyStage, perBase: ReadonlySet<string>, first: string): AnyStage => {
  if (typeof made?.id !== "string" || typeof made.inputs !== "object") return made
  const bases = new Set<string>()
  for (const ref of Object.values(made.inputs)) {
    const { id, base } = splitBase(ref.stage)
    if (base !== undefined && perBase.has(id) && ref.matrix !== "first") bases.add(base)
  }
  const plain = Object.entries(made.inputs).filter(([, r]) => perBase.has(r.stage) && r.matrix !== "first")
  if (bases.size !== 1) {
    if (plain.length > 0)
      throw new Error(
        `stage "${made.id}" input "${plain[0]![0]}" names "${plain[0]![1].stage}", which runs once per base model: name one copy (e.g. "${withBase(plain[0]![1].stage, first)}")`
      )
    return {
      ...made,
      inputs: Object.fromEntries(
        Object.entries(made.inputs).map(([name, ref]) => [name, rebind(ref, first, perBase, first)])
      )
    }
  }
  const base = [...bases][0]!
  const own = splitBase(made.id)
  const id = own.base === base ? made.id : withBase(made.id, base)
  return {
    ...made,
    id,
    inputs: Object.fromEntries(
      Object.entries(made.inputs).map(([name, ref]) => [name, rebind(ref, base, perBase, first)])
    ),
    matrix: { id: splitBase(id).id, base }
  }
}
