// A vitest reporter for CI: records every test that needed a retry (config `retry` under CI=true),
// so a flaky test is named at the end of `.ci/run` instead of hiding behind a green count.
// Writes a JSON array of { name, file, retries, state, errors } to $ES_RETRY_REPORT.
import * as fs from "node:fs"
import * as path from "node:path"

export default class RetryReporter {
  retried = []

  onTestCaseResult(testCase) {
    const diagnostic = testCase.diagnostic()
    if (diagnostic === undefined || diagnostic.retryCount === 0) return
    const result = testCase.result()
    this.retried.push({
      name: testCase.fullName,
      file: path.relative(process.cwd(), testCase.module.moduleId),
      retries: diagnostic.retryCount,
      state: result.state,
      errors: (result.errors ?? []).map((error) => String(error.message ?? error).split("\n")[0])
    })
  }

  onTestRunEnd() {
    const out = process.env.ES_RETRY_REPORT
    if (out) fs.writeFileSync(out, JSON.stringify(this.retried, null, 2))
  }
}
