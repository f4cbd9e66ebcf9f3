/**
 * `npm run bench`: runs every benchmark in bench/ (or the ones named on the command line) and prints
 * a table per suite. Figures and method are recorded in BENCHMARKS.md.
 */
import { suites } from "./suites.js"

const wanted = process.argv.slice(2)
for (const suite of suites) {
  if (wanted.length > 0 && !wanted.includes(suite.name)) continue
  console.log(`\n# ${suite.name}`)
  await suite.run()
}
