/** The registry of benchmark suites; each area adds its file here. */
export interface Suite {
  readonly name: string
  readonly run: () => Promise<void>
}

export const suites: ReadonlyArray<Suite> = [
  { name: "runtime-config", run: () => import("./runtime-config.js").then((m) => m.run()) },
  { name: "bundle-load", run: () => import("./bundle-load.js").then((m) => m.run()) },
  { name: "tool-runtime", run: () => import("./tool-runtime.js").then((m) => m.run()) },
  { name: "jsonl", run: () => import("./jsonl.js").then((m) => m.run()) },
  { name: "pipeline", run: () => import("./pipeline.js").then((m) => m.run()) },
  { name: "model", run: () => import("./model.js").then((m) => m.run()) },
  { name: "context", run: () => import("./context.js").then((m) => m.run()) },
  { name: "orchestrator", run: () => import("./orchestrator.js").then((m) => m.run()) },
  { name: "soak", run: () => import("./soak.js").then((m) => m.run()) },
  { name: "cli-startup", run: () => import("./cli-startup.js").then((m) => m.run()) }
]
