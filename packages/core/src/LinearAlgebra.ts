/** Small dense linear algebra for the regressions of the estimators and probes (no native dependency). */

/** Solve `(A) x = b` for symmetric positive definite `A` (`n×n`, row-major) by Cholesky, for several right-hand sides. */
export const choleskySolve = (
  a: Float64Array,
  n: number,
  bs: ReadonlyArray<Float64Array>
): Array<Float64Array> => {
  const l = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * n + j]!
    }
  }
  return bs.map((b) => {
    const y = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      let s = b[i]!
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!
      y[i] = s / l[i * n + i]!
    }
    const x = new Float64Array(n)
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!
      x[i] = s / l[i * n + i]!
    }
    return x
  })
}
