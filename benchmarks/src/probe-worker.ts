/**
 * One runtime's side of `pnpm bench probe`, in its own process so its peak memory is its own:
 * capture every layer (residual stream, attentions, lens top-k, tracked log-probs) of the job's
 * prompts with the probe graph, and print `{seconds, peakRssMb}` as JSON.
 */
import { readFileSync } from "node:fs"
import { loadModel } from "@hyperwords/models"

const job = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as {
  model: string
  ids: Array<Array<number>>
  tracked: Array<Array<number>>
  batch: number
  runs: number
}
const model = await loadModel(job.model)
const pass = async () => {
  for (let s = 0; s < job.ids.length; s += job.batch) {
    await model.probe({ ids: job.ids.slice(s, s + job.batch), tracked: job.tracked.slice(s, s + job.batch) })
  }
}
await model.probe({ ids: job.ids.slice(0, job.batch), tracked: job.tracked.slice(0, job.batch) })
const seconds: Array<number> = []
for (let r = 0; r < job.runs; r++) {
  const t0 = performance.now()
  await pass()
  seconds.push((performance.now() - t0) / 1000)
}
// maxRSS is in kilobytes
process.stdout.write(`${JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 })}\n`)
