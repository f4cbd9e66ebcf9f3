/**
 * A growable array shared by several immutable views, each seeing the first `length` items: what lets a
 * conversation value share its message and event arrays with the value it was made from (appends are O(1),
 * copy-on-write when two values diverge).
 *
 * @since 0.1.0
 */

// A growable array shared by several immutable views: each view sees the first `length` items.
// A view may push in place only when it is the longest view (length === items.length).
export interface Shared<A> {
  readonly items: Array<A>
  readonly length: number
}

export const push = <A>(shared: Shared<A>, item: A): Shared<A> => {
  if (shared.length === 0) return { items: [item], length: 1 }
  if (shared.items.length === shared.length) {
    shared.items.push(item)
    return { items: shared.items, length: shared.length + 1 }
  }
  const items = shared.items.slice(0, shared.length)
  items.push(item)
  return { items, length: items.length }
}

export const view = <A>(shared: Shared<A>): ReadonlyArray<A> =>
  shared.items.length === shared.length ? shared.items.slice() : shared.items.slice(0, shared.length)

export const none: Shared<never> = { items: [], length: 0 }
export const fresh = <A>(items: ReadonlyArray<A>): Shared<A> => ({ items: items.slice(), length: items.length })

// The items of a view, to push onto: the shared array itself for the longest view, else a copy (as `push`).
export const owned = <A>(shared: Shared<A>): Array<A> =>
  shared.length === 0 ? [] : shared.items.length === shared.length ? shared.items : shared.items.slice(0, shared.length)
