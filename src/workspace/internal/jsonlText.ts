/**
 * The JSON text of a value that reads back as it is, in one walk that reads each property once.
 *
 * `JSON.stringify` accepts values that read back changed (NaN and Infinity become `null`, a key whose value is
 * `undefined` is dropped, `undefined` in an array becomes `null`, a Date becomes a string) and a value checked
 * by a first walk (`Message.isJson`) may change before a second walk writes it (a getter). {@link jsonText}
 * checks and writes in the same walk, so what is written is exactly what was checked: `null`, booleans,
 * strings, finite numbers, arrays and plain objects (prototype `Object.prototype` or `null`), nested at most
 * {@link maxDepth} deep (the limit of `Message.isJson`), with the text `JSON.stringify` gives for them. On
 * refusal, {@link whyNotJson} says where and why (a second walk, on the failure path only).
 *
 * @internal
 */
// A string that JSON.stringify writes as it is between quotes: no quote, backslash, control character or
// surrogate (a lone one is escaped; a pair is left to JSON.stringify as well). Testing this is about three
// times cheaper than JSON.stringify of the string.
const plain = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/

/** `JSON.stringify(s)` for a string. @internal */
export const quote = (s: string): string => plain.test(s) ? `"${s}"` : JSON.stringify(s)

/** The deepest nesting stored (the limit of `Message.isJson`). @internal */
export const maxDepth = 256

type Obj = Record<string, unknown>

const isPlainObject = (u: object): u is Obj => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * The JSON text of `u` at nesting `depth` (0 for the outermost value), or `undefined` when it would not read
 * back as it is (see the module docs). Each property is read once. A hostile value (a getter or a proxy that
 * throws) throws: the caller refuses it. `absent`: a key of an object whose value is `undefined` is left out
 * (it reads back absent, which an optional field treats the same), as `JSON.stringify` does; without it, such
 * a key is refused (a message's JSON values).
 *
 * @internal
 */
export const jsonText = (u: unknown, depth: number, absent = false): string | undefined => {
  switch (typeof u) {
    case "string":
      return quote(u)
    case "number":
      // Number#toString is what JSON.stringify writes for a finite number (-0 included: "0").
      return Number.isFinite(u) ? `${u}` : undefined
    case "boolean":
      return u ? "true" : "false"
    case "object": {
      if (u === null) return "null"
      if (depth > maxDepth) return undefined
      if (Array.isArray(u)) {
        const n = u.length
        if (n === 0) return "[]"
        let text = "["
        for (let i = 0; i < n; i++) {
          const item = jsonText(u[i], depth + 1, absent)
          if (item === undefined) return undefined
          text += i === 0 ? item : `,${item}`
        }
        return text + "]"
      }
      if (!isPlainObject(u)) return undefined
      let text = ""
      for (const key in u) {
        const v = u[key]
        if (v === undefined && absent) continue
        const value = jsonText(v, depth + 1, absent)
        if (value === undefined) return undefined
        text += `,${quote(key)}:${value}`
      }
      return text === "" ? "{}" : `{${text.slice(1)}}`
    }
    default:
      return undefined
  }
}

/**
 * Where and why `u` is not JSON that reads back as it is: `{ path, reason }` with `path` built on `at`
 * (`metadata.a[2]`), or `undefined` when it is (then a value changed between two reads: a getter).
 *
 * @internal
 */
export const whyNotJson = (
  u: unknown,
  at: string,
  depth: number,
  absent = false
): { readonly path: string; readonly reason: string } | undefined => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(u)
        ? undefined
        : { path: at, reason: `${u} is not a JSON number (it would read back as null)` }
    case "undefined":
      return { path: at, reason: "undefined is not JSON (JSON drops the key, or writes null in an array)" }
    case "bigint":
      return { path: at, reason: "a bigint is not JSON (store it as a string)" }
    case "function":
    case "symbol":
      return { path: at, reason: `a ${typeof u} is not JSON` }
    case "object": {
      if (u === null) return undefined
      if (depth > maxDepth) {
        return { path: at, reason: `nested more than ${maxDepth} levels deep (or a cycle)` }
      }
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) {
          const why = whyNotJson(u[i], `${at}[${i}]`, depth + 1, absent)
          if (why !== undefined) return why
        }
        return undefined
      }
      if (!isPlainObject(u)) {
        const name = u instanceof Date ? "a Date (store its ISO string)" : "not a plain object"
        return { path: at, reason: `${name}: it would read back as a different value` }
      }
      for (const key in u) {
        const v = u[key]
        if (v === undefined && absent) continue
        const why = whyNotJson(v, `${at}.${key}`, depth + 1, absent)
        if (why !== undefined) return why
      }
      return undefined
    }
  }
}
