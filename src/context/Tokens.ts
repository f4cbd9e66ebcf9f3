/**
 * Token counting for the context window: a fast estimate by default (characters per token, per
 * provider), calibrated from the input tokens the provider reported for the last step, and pluggable
 * for users who bring a real tokenizer.
 *
 * The estimate is a ratio, not a tokenizer: English prose runs about 4 characters per token on the
 * OpenAI tokenizers (o200k / cl100k) and about 3.5 on Anthropic's; JSON and code run denser (about 3).
 * Other scripts run far denser (CJK about 1 token a character, an emoji up to 4), so characters outside
 * ASCII are counted by script (see {@link estimate}).
 * Each message adds {@link messageOverhead} tokens (role and separators), each image
 * {@link imageTokens}. Counts are cached per message object (messages are immutable values), so a
 * message is measured once however many steps it is sent in.
 *
 * @since 0.1.0
 */
import type { Message, MessageData } from "../conversation/Message.js"
import type { ToolCatalogItem } from "../tool/ToolCatalog.js"

/**
 * Counts the tokens of a text. `exact: true` tells the context window not to calibrate the counts
 * against the provider's reported usage.
 *
 * @example
 * ```ts
 * import { Tokens } from "effect-swarm"
 * const words: Tokens.Tokenizer = { name: "words", exact: false, countText: (t) => t.split(/\s+/).length }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Tokenizer {
  readonly name: string
  readonly exact: boolean
  readonly countText: (text: string) => number
}

/**
 * Characters per token of the default estimate, per provider (unknown providers use `default`).
 *
 * @since 0.1.0
 * @category constants
 */
export const charsPerToken: { readonly [provider: string]: number } = {
  openai: 4,
  "openai-compatible": 4,
  anthropic: 3.5,
  "effect-ai": 4,
  scripted: 4,
  default: 4
}

/**
 * Tokens added per message for its role and separators.
 *
 * @since 0.1.0
 * @category constants
 */
export const messageOverhead = 4

/**
 * Tokens counted for an image part (a 1024x1024 image is about 765 tokens on OpenAI and about 1,400
 * on Anthropic; the larger figure is used).
 *
 * @since 0.1.0
 * @category constants
 */
export const imageTokens = 1500

// Any character outside ASCII (a fast test: most text sent to models is ASCII).
const nonAscii = /[^\u0000-\u007f]/

// Tokens of a text with characters outside ASCII: ASCII at the provider's ratio; Latin with accents, Greek,
// Cyrillic, Hebrew and Arabic (below U+0900) at 2 characters per token; every other character of the Basic
// Multilingual Plane (Indic, Thai, CJK, kana, Hangul, symbols) 1 token; a character outside it (emoji,
// rare CJK: a surrogate pair) 2 tokens. The OpenAI and Anthropic tokenizers give CJK 1-2 tokens a
// character and an emoji 1-4, so a characters-per-token ratio undercounted such text 4-8 times.
const countMixed = (text: string, ratio: number): number => {
  let ascii = 0
  let tokens = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) ascii++
    else if (c < 0x900) tokens += 0.5
    else tokens += 1 // a surrogate counts once per half: 2 a pair
  }
  return Math.ceil(ascii / ratio + tokens)
}

/**
 * The default estimate for a provider: ASCII text at `charsPerToken[provider]` characters a token; other
 * scripts by what the real tokenizers give them (see the module docs): about 2 characters a token for
 * accented Latin, Greek, Cyrillic, Hebrew and Arabic, 1 token a character for CJK, kana, Hangul, Indic
 * and Thai, 2 tokens for an emoji.
 *
 * @example
 * ```ts
 * import { Tokens } from "effect-swarm"
 * Tokens.estimate("anthropic").countText("hello world!!") // 4
 * Tokens.estimate("openai").countText("你好，世界") // 5
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const estimate = (provider: string): Tokenizer => {
  const ratio = charsPerToken[provider] ?? charsPerToken.default!
  return {
    name: `estimate(${ratio} chars/token)`,
    exact: false,
    countText: (text) => nonAscii.test(text) ? countMixed(text, ratio) : Math.ceil(text.length / ratio)
  }
}

const stringify = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? ""
  } catch {
    return String(value)
  }
}

/**
 * The tokens of a message's data under a tokenizer (uncached; see {@link Counter}).
 *
 * @example
 * ```ts
 * import { Tokens } from "effect-swarm"
 * Tokens.countData(Tokens.estimate("openai"), { role: "user", content: "12345678" }) // 6
 * ```
 *
 * @since 0.1.0
 * @category counting
 */
export const countData = (tokenizer: Tokenizer, data: MessageData): number => {
  let tokens = messageOverhead
  const content = data.content
  if (typeof content === "string") tokens += tokenizer.countText(content)
  else {
    for (const part of content) {
      switch (part.type) {
        case "text":
        case "reasoning":
          tokens += tokenizer.countText(part.text)
          break
        case "tool-call":
          tokens += tokenizer.countText(part.toolName) + tokenizer.countText(stringify(part.input))
          break
        case "tool-result":
          tokens += tokenizer.countText(stringify(part.output))
          break
        case "image":
          tokens += imageTokens
          break
        case "file":
          tokens += tokenizer.countText(part.data)
          break
      }
    }
  }
  for (const call of data.toolCalls ?? []) {
    tokens += tokenizer.countText(call.name) + tokenizer.countText(stringify(call.arguments))
  }
  return tokens
}

/**
 * A tokenizer with per-object caches: messages and catalog items are counted once.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counter {
  readonly tokenizer: Tokenizer
  readonly message: (message: Message) => number
  readonly text: (text: string) => number
  readonly tools: (catalog: ReadonlyArray<ToolCatalogItem>) => number
}

/**
 * A {@link Counter} over a tokenizer.
 *
 * @example
 * ```ts
 * import { Tokens } from "effect-swarm"
 * const counter = Tokens.counter(Tokens.estimate("openai"))
 * counter.text("hello world") // 3
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const counter = (tokenizer: Tokenizer): Counter => {
  const messages = new WeakMap<Message, number>()
  const items = new WeakMap<ToolCatalogItem, number>()
  return {
    tokenizer,
    message: (message) => {
      let n = messages.get(message)
      if (n === undefined) {
        n = countData(tokenizer, message.data)
        messages.set(message, n)
      }
      return n
    },
    text: (text) => tokenizer.countText(text),
    tools: (catalog) => {
      let total = 0
      for (const item of catalog) {
        let n = items.get(item)
        if (n === undefined) {
          n = tokenizer.countText(item.name) + tokenizer.countText(item.description ?? "") +
            tokenizer.countText(stringify(item.parameters)) + messageOverhead
          items.set(item, n)
        }
        total += n
      }
      return total
    }
  }
}
