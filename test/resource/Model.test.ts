import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either } from "effect"
import { Bundle, Model, Resource } from "effect-swarm"
import * as path from "node:path"
import { agent, docs, issueLines, provideNode, swarm, writeBundle, writeFiles } from "./helpers.js"

const modelDoc = (spec: string, name = "default") =>
  `apiVersion: effect-swarm/v1
kind: Model
metadata: { name: ${name} }
spec:
${spec}`

/** A bundle whose only Model has `spec`, plus an agent and swarm using it. */
const bundleWith = (spec: string, extra: Record<string, string> = {}) =>
  writeBundle({ "resources.yaml": docs(modelDoc(spec), agent(), swarm()), ...extra })

const issuesOf = (dir: string) =>
  Bundle.load(dir).pipe(
    Effect.flip,
    Effect.map((e) => e.issues)
  )

describe("Model: provider", () => {
  it.scoped("an unknown provider is an issue at spec.provider listing the known ones", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith("  provider: opnai\n  model: gpt-4.1-mini\n")
      const issues = yield* issuesOf(dir)
      assert.deepStrictEqual(issues.map((i) => `${i.file}:${i.document} ${i.path} ${i.code}`), [
        "resources.yaml:0 spec.provider E_CONFIG_UNKNOWN_PROVIDER"
      ])
      assert.strictEqual(issues[0]!.message, `unknown provider "opnai"`)
      assert.strictEqual(issues[0]!.line, 5)
      assert.strictEqual(
        issues[0]!.suggestion,
        `did you mean "openai"? known providers: openai-compatible, openai, anthropic, effect-ai, scripted`
      )
    })))

  it.effect("points OpenAI-compatible servers and @effect/ai providers at the right provider", () =>
    Effect.sync(() => {
      const suggestion = (provider: string) => {
        const result = Resource.decode({
          apiVersion: "effect-swarm/v1",
          kind: "Model",
          metadata: { name: "m" },
          spec: { provider, model: "x" }
        })
        assert.isTrue(Either.isLeft(result))
        return Either.isLeft(result) ? result.left[0]!.suggestion ?? "" : ""
      }
      assert.include(suggestion("ollama"), "use provider: openai-compatible with endpoint")
      assert.include(suggestion("google"), "use provider: effect-ai")
      assert.include(suggestion("zzz"), "known providers: openai-compatible, openai, anthropic, effect-ai, scripted")
    }))

  it.scoped("every known provider loads", () =>
    provideNode(Effect.gen(function*() {
      for (const provider of ["openai-compatible", "openai", "anthropic", "effect-ai"]) {
        const dir = yield* bundleWith(`  provider: ${provider}\n  model: m-1\n`)
        const bundle = yield* Bundle.load(dir)
        assert.strictEqual(Bundle.find(bundle, "Model", "default")!.resource.spec.provider, provider)
      }
    })))

  it.scoped("model is required except for scripted", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith("  provider: anthropic\n")
      const issues = yield* issuesOf(dir)
      assert.deepStrictEqual(issues.map((i) => `${i.path} ${i.code} ${i.message}`), [
        "spec.model E_CONFIG_SCHEMA_INVALID required field is missing"
      ])
      assert.include(issues[0]!.suggestion!, "claude-sonnet-4-5")
      const scripted = yield* bundleWith("  provider: scripted\n  script: [{ text: hi }]\n")
      const bundle = yield* Bundle.load(scripted)
      assert.isUndefined(Bundle.find(bundle, "Model", "default")!.resource.spec.model)
    })))
})

describe("Model: script", () => {
  it.scoped("inline steps are validated and handed out by Bundle.modelScript", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(`  provider: scripted
  script:
    - match: weather
      toolCalls: [{ name: weather__now, id: call-1, arguments: { city: Paris } }]
      usage: { inputTokens: 12, outputTokens: 3 }
    - match: "/^bad args/i"
      toolCalls: [{ name: weather__now, arguments: "{not json" }]
    - text: It is sunny.
      finishReason: stop
`)
      const bundle = yield* Bundle.load(dir)
      const steps = Bundle.modelScript(bundle, "default")!
      assert.strictEqual(steps.length, 3)
      assert.deepStrictEqual(steps[0]!.toolCalls![0], {
        name: "weather__now",
        id: "call-1",
        arguments: { city: "Paris" }
      })
      assert.strictEqual(steps[1]!.toolCalls![0]!.arguments, "{not json")
      assert.strictEqual(steps[2]!.text, "It is sunny.")
      assert.isUndefined(Bundle.modelScript(bundle, "nope"))
    })))

  it.scoped("bad inline steps are issues at their field", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(`  provider: scripted
  script:
    - match: weather
    - text: hi
      finishReson: stop
    - match: "/(unclosed/"
      text: x
    - toolCalls: [{ name: "", arguments: 5 }]
      finishReason: done
      usage: { inputTokens: -1 }
`)
      const lines = yield* issueLines(dir)
      assert.deepStrictEqual(lines, [
        "resources.yaml:0 spec.script[0] E_CONFIG_SCHEMA_INVALID",
        "resources.yaml:0 spec.script[1].finishReson E_CONFIG_UNKNOWN_FIELD",
        "resources.yaml:0 spec.script[2].match E_CONFIG_SCHEMA_INVALID",
        "resources.yaml:0 spec.script[3].toolCalls[0].name E_CONFIG_SCHEMA_INVALID",
        "resources.yaml:0 spec.script[3].toolCalls[0].arguments E_CONFIG_SCHEMA_INVALID",
        "resources.yaml:0 spec.script[3].finishReason E_CONFIG_SCHEMA_INVALID",
        "resources.yaml:0 spec.script[3].usage.inputTokens E_CONFIG_SCHEMA_INVALID"
      ])
      const issues = yield* issuesOf(dir)
      assert.strictEqual(issues[0]!.message, "a script step needs text or toolCalls (or both)")
      assert.strictEqual(issues[1]!.suggestion, `did you mean "finishReason"?`)
      assert.include(issues[2]!.message, `match "/(unclosed/" is not a valid regular expression`)
    })))

  it.scoped("script is refused for other providers, and required for scripted", () =>
    provideNode(Effect.gen(function*() {
      const other = yield* issuesOf(yield* bundleWith("  provider: openai\n  model: gpt\n  script: [{ text: hi }]\n"))
      assert.deepStrictEqual(other.map((i) => `${i.path} ${i.message}`), [
        "spec.script script is only used by provider scripted; this Model uses openai"
      ])
      assert.strictEqual(other[0]!.suggestion, "remove script, or set provider: scripted")
      const missing = yield* issuesOf(yield* bundleWith("  provider: scripted\n"))
      assert.deepStrictEqual(missing.map((i) => `${i.path} ${i.message}`), [
        "spec.script provider scripted needs a script"
      ])
      const empty = yield* issuesOf(yield* bundleWith("  provider: scripted\n  script: []\n"))
      assert.deepStrictEqual(empty.map((i) => `${i.path} ${i.message}`), [
        "spec.script a script needs at least one step"
      ])
    })))

  it.scoped("a script file (YAML or JSON) in the bundle is read and validated", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith("  provider: scripted\n  script: ./scripts/demo.yaml\n", {
        "scripts/demo.yaml": "- match: hello\n  text: Hi!\n- text: Bye.\n"
      })
      const bundle = yield* Bundle.load(dir)
      const entry = Bundle.find(bundle, "Model", "default")!
      assert.strictEqual(entry.scriptFile, path.join(dir, "scripts/demo.yaml"))
      assert.deepStrictEqual(Bundle.modelScript(bundle, "default"), [{ match: "hello", text: "Hi!" }, {
        text: "Bye."
      }])
      // the script file is not a bundle file
      assert.deepStrictEqual(bundle.files, ["resources.yaml"])
      const json = yield* bundleWith("  provider: scripted\n  script: demo.json\n", {
        "demo.json": `[{ "toolCalls": [{ "name": "echo__say", "arguments": { "text": "x" } }] }]`
      })
      assert.deepStrictEqual(
        Bundle.modelScript(yield* Bundle.load(json), "default"),
        [{ toolCalls: [{ name: "echo__say", arguments: { text: "x" } }] }]
      )
    })))

  it.scoped("issues in a script file name that file, the step's field and its line", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith("  provider: scripted\n  script: ./scripts/demo.yaml\n", {
        "scripts/demo.yaml": "- text: ok\n- txt: typo\n- text: x\n  usage: { outputTokens: 1.5 }\n"
      })
      const issues = yield* issuesOf(dir)
      assert.deepStrictEqual(issues.map((i) => `${i.file}:${i.document} ${i.path} ${i.code} line ${i.line}`), [
        "scripts/demo.yaml:0 [1].txt E_CONFIG_UNKNOWN_FIELD line 2",
        "scripts/demo.yaml:0 [2].usage.outputTokens E_CONFIG_SCHEMA_INVALID line 4"
      ])
      assert.strictEqual(issues[0]!.suggestion, `did you mean "text"?`)
      const notAList = yield* issuesOf(
        yield* bundleWith("  provider: scripted\n  script: s.yaml\n", { "s.yaml": "text: hi\n" })
      )
      assert.deepStrictEqual(notAList.map((i) => `${i.file} ${i.message}`), [
        `s.yaml a script file holds a list of steps, got {"text":"hi"}`
      ])
      const empty = yield* issuesOf(yield* bundleWith("  provider: scripted\n  script: s.yaml\n", { "s.yaml": "" }))
      assert.deepStrictEqual(empty.map((i) => `${i.file} ${i.code}`), ["s.yaml E_CONFIG_SCHEMA_INVALID"])
      const broken = yield* issuesOf(
        yield* bundleWith("  provider: scripted\n  script: s.yaml\n", { "s.yaml": "- text: [unclosed\n" })
      )
      assert.deepStrictEqual(broken.map((i) => `${i.file} ${i.code}`), ["s.yaml E_CONFIG_PARSE_ERROR"])
    })))

  it.scoped("a script path is checked like an entry: exists, stays in the bundle, right extension", () =>
    provideNode(Effect.gen(function*() {
      const outside = yield* writeBundle({ "steps.yaml": "- text: secret\n" })
      const lines = (spec: string, extra: Record<string, string | { symlink: string }> = {}) =>
        Effect.flatMap(
          writeBundle({ "resources.yaml": docs(modelDoc(spec), agent(), swarm()), ...extra }),
          (dir) => issueLines(dir)
        )
      assert.deepStrictEqual(yield* lines("  provider: scripted\n  script: ./missing.yaml\n"), [
        "resources.yaml:0 spec.script E_CONFIG_ENTRY_NOT_FOUND"
      ])
      assert.deepStrictEqual(yield* lines("  provider: scripted\n  script: ../steps.yaml\n"), [
        "resources.yaml:0 spec.script E_CONFIG_ENTRY_OUTSIDE_ROOT"
      ])
      assert.deepStrictEqual(yield* lines(`  provider: scripted\n  script: ${path.join(outside, "steps.yaml")}\n`), [
        "resources.yaml:0 spec.script E_CONFIG_ENTRY_OUTSIDE_ROOT"
      ])
      assert.deepStrictEqual(
        yield* lines("  provider: scripted\n  script: ./scripts/linked.yaml\n", {
          "scripts/linked.yaml": { symlink: path.join(outside, "steps.yaml") }
        }),
        ["resources.yaml:0 spec.script E_CONFIG_ENTRY_OUTSIDE_ROOT"]
      )
      assert.deepStrictEqual(yield* lines("  provider: scripted\n  script: ./steps.txt\n", { "steps.txt": "" }), [
        "resources.yaml:0 spec.script E_CONFIG_SCHEMA_INVALID"
      ])
      assert.deepStrictEqual(yield* lines("  provider: scripted\n  script: 42\n"), [
        "resources.yaml:0 spec.script E_CONFIG_SCHEMA_INVALID"
      ])
    })))

  it.effect("scriptMatcher: case-insensitive substring, or /regex/flags", () =>
    Effect.sync(() => {
      assert.isTrue(Resource.scriptMatcher("Weather")("what is the WEATHER?"))
      assert.isFalse(Resource.scriptMatcher("weather")("rain"))
      assert.isTrue(Resource.scriptMatcher("/^hi\\b/i")("Hi there"))
      assert.isFalse(Resource.scriptMatcher("/^hi\\b/")("Hi there"))
      const global = Resource.scriptMatcher("/a/g")
      assert.isTrue(global("a"))
      assert.isTrue(global("a"))
      assert.isTrue(Resource.scriptMatcher(undefined)("anything"))
    }))
})

describe("Model: options", () => {
  it.scoped("known option keys are typed; other keys stay allowed", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  options: { maxRetries: 3, timeout: 30s, contextWindow: 128000, reasoningEffort: high }\n"
      )
      const model = Bundle.find(yield* Bundle.load(dir), "Model", "default")!.resource
      assert.strictEqual(model.spec.options!.reasoningEffort, "high")
      const options = Resource.modelOptions(model)
      assert.strictEqual(options.maxRetries, 3)
      assert.isTrue(Duration.equals(options.timeout!, Duration.seconds(30)))
      assert.strictEqual(options.contextWindow, 128000)
      assert.isTrue(
        Duration.equals(Resource.modelOptions({ spec: { options: { timeout: 1500 } } }).timeout!, Duration.millis(1500))
      )
      assert.isTrue(Duration.equals(Resource.parseDuration("2 minutes")!, Duration.minutes(2)))
    })))

  it.scoped("wrongly typed known options are issues at their key", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  options: { maxRetries: -1, timeout: soon, contextWindow: 0 }\n"
      )
      const issues = yield* issuesOf(dir)
      assert.deepStrictEqual(issues.map((i) => `${i.path} ${i.message}`), [
        "spec.options.maxRetries maxRetries must be an integer >= 0, got -1",
        `spec.options.timeout timeout is not a positive duration: "soon"`,
        "spec.options.contextWindow contextWindow must be a positive integer (tokens), got 0"
      ])
      assert.strictEqual(issues[1]!.suggestion, `use milliseconds or a string such as "30 seconds" or "30s"`)
    })))
})

describe("Model: script in a dependency package", () => {
  const pkgDoc = (name: string, deps = "") =>
    `apiVersion: effect-swarm/v1\nkind: Package\nmetadata: { name: "${name}" }\nspec:${deps === "" ? " {}" : deps}\n`

  it.scoped("resolves the script under the package root; its issues name <package>/<file>", () =>
    provideNode(Effect.gen(function*() {
      const home = yield* writeBundle({
        "packages/acme/demo/1.0.0/effect-swarm.yaml": docs(
          pkgDoc("@acme/demo"),
          modelDoc("  provider: scripted\n  script: ./scripts/good.yaml\n", "good"),
          modelDoc("  provider: scripted\n  script: ./scripts/bad.yaml\n", "bad")
        ),
        "packages/acme/demo/1.0.0/scripts/good.yaml": "- text: from the package\n",
        "packages/acme/demo/1.0.0/scripts/bad.yaml": "- text: ok\n- finishReason: stop\n"
      })
      const dir = yield* writeBundle({
        "effect-swarm.yaml": pkgDoc("@acme/app", `\n  dependencies:\n    - { name: "@acme/demo", version: "1.0.0" }`)
      })
      const error = yield* Bundle.load(dir, { stateRoot: home }).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues.map((i) => `${i.file}:${i.document} ${i.path} ${i.code}`), [
        "@acme/demo/scripts/bad.yaml:0 [1] E_CONFIG_SCHEMA_INVALID"
      ])
      yield* writeFiles(home, { "packages/acme/demo/1.0.0/scripts/bad.yaml": "- text: fixed\n" })
      const bundle = yield* Bundle.load(dir, { stateRoot: home })
      assert.deepStrictEqual(Bundle.modelScript(bundle, "good", "@acme/demo"), [{ text: "from the package" }])
      assert.strictEqual(
        Bundle.find(bundle, "Model", "good", "@acme/demo")!.scriptFile,
        path.join(home, "packages/acme/demo/1.0.0/scripts/good.yaml")
      )
    })))
})

describe("Model: price", () => {
  it.scoped("a valid price loads and reaches the Model service", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  price: { inputPerMillion: 0.4, outputPerMillion: 1.6, currency: USD }\n"
      )
      const bundle = yield* Bundle.load(dir)
      const entry = Bundle.find(bundle, "Model", "default")!
      assert.deepStrictEqual(entry.resource.spec.price, {
        inputPerMillion: 0.4,
        outputPerMillion: 1.6,
        currency: "USD"
      })
      const zero = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  price: { inputPerMillion: 0, outputPerMillion: 0 }\n"
      )
      assert.deepStrictEqual(
        Bundle.find(yield* Bundle.load(zero), "Model", "default")!.resource.spec.price,
        { inputPerMillion: 0, outputPerMillion: 0 }
      )
    })))

  it.scoped("a negative, NaN or non-number price is an issue naming the file and the field", () =>
    provideNode(Effect.gen(function*() {
      const dir = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  price: { inputPerMillion: -1, outputPerMillion: .nan }\n"
      )
      const issues = yield* issuesOf(dir)
      assert.deepStrictEqual(issues.map((i) => `${i.file}:${i.document} ${i.path} ${i.message}`), [
        "resources.yaml:0 spec.price.inputPerMillion inputPerMillion must be a number >= 0 (US dollars per million tokens), got -1",
        "resources.yaml:0 spec.price.outputPerMillion outputPerMillion must be a number >= 0 (US dollars per million tokens), got NaN"
      ])
      const text = yield* bundleWith(
        "  provider: openai\n  model: gpt\n  price: { inputPerMillion: cheap, outputPerMillion: 1, currency: EUR, inputPerMilion: 2 }\n"
      )
      const more = yield* issuesOf(text)
      assert.deepStrictEqual(more.map((i) => `${i.path} ${i.message}`), [
        `spec.price.inputPerMillion inputPerMillion must be a number >= 0 (US dollars per million tokens), got "cheap"`,
        `spec.price.currency currency must be "USD", got "EUR"`,
        `spec.price.inputPerMilion unknown price field "inputPerMilion"`
      ])
      assert.strictEqual(more[2]!.suggestion, `did you mean "inputPerMillion"?`)
      const missing = yield* bundleWith("  provider: openai\n  model: gpt\n  price: 3\n")
      const [notMapping] = yield* issuesOf(missing)
      assert.strictEqual(notMapping!.path, "spec.price")
      assert.include(notMapping!.message, "price must be a mapping")
    })))

  it.effect("Model.make refuses a bad price with a ModelConfigError naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Model.make({
        metadata: { name: "m" },
        spec: { provider: "scripted", script: [{ text: "hi" }], price: { inputPerMillion: 1, outputPerMillion: -2 } }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ModelConfigError")
      assert.strictEqual(error.field, "spec.price.outputPerMillion")
      assert.include(error.message, "got -2")
      const ok = yield* Model.make({
        metadata: { name: "m" },
        spec: { provider: "scripted", script: [{ text: "hi" }], price: { inputPerMillion: 1, outputPerMillion: 2 } }
      })
      assert.deepStrictEqual(ok.price, { inputPerMillion: 1, outputPerMillion: 2 })
    }))
})
