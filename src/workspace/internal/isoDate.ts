/**
 * `Date` to and from the canonical ISO form `YYYY-MM-DDTHH:MM:SS.sssZ` (what `toISOString` writes for
 * years 0-9999) with integer arithmetic: every message line carries one, and `toISOString` / `new Date(s)`
 * were a third of the cost of encoding / a half of decoding a message. Both agree with the built-ins on
 * every value they accept (a test compares them); anything else is left to the built-ins.
 *
 * @internal
 */

const pad2 = (n: number) => n < 10 ? `0${n}` : `${n}`
const pad3 = (n: number) => n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`
const pad4 = (n: number) => n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : `${n}`
const dayMs = 86_400_000
// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the range of four-digit years.
const minMs = -62_167_219_200_000
const maxMs = 253_402_300_799_999

/**
 * The canonical form of an instant in years 0-9999 given as epoch milliseconds (`toISOString` of that
 * instant), or `undefined` for any other number (NaN, fractions, years outside 0-9999) with no `Date` made.
 *
 * @internal
 */
export const formatMs = (ms: number): string | undefined => {
  if (!(ms >= minMs && ms <= maxMs) || !Number.isInteger(ms)) return undefined
  // The messages of one step are usually created within one second: the date and time up to the seconds are
  // kept from the last call.
  const second = Math.floor(ms / 1000)
  if (second === lastSecond) return `${lastPrefix}${pad3(ms - second * 1000)}Z`
  // Civil date from days since the epoch (H. Hinnant's algorithm, in 400-year eras from 0000-03-01).
  const days = Math.floor(ms / dayMs)
  let rest = ms - days * dayMs
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  const hours = Math.floor(rest / 3_600_000)
  rest -= hours * 3_600_000
  const minutes = Math.floor(rest / 60_000)
  rest -= minutes * 60_000
  const seconds = Math.floor(rest / 1000)
  lastSecond = second
  lastPrefix = `${pad4(year)}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.`
  return `${lastPrefix}${pad3(rest - seconds * 1000)}Z`
}

let lastSecond = Number.NaN
let lastPrefix = ""

/** `date.toISOString()` (which throws on an invalid date, as this does). @internal */
export const format = (date: Date): string => formatMs(date.getTime()) ?? date.toISOString()

const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : NaN
}
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1)

/**
 * The epoch milliseconds of a canonical `YYYY-MM-DDTHH:MM:SS.sssZ` string whose fields are in range, or
 * `undefined` for anything else (which the caller hands to `new Date`, lenient as it is).
 *
 * @internal
 */
export const parse = (s: string): number | undefined => {
  if (
    s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 ||
    s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90
  ) return undefined
  const year = two(s, 0) * 100 + two(s, 2)
  const month = two(s, 5)
  const day = two(s, 8)
  const hours = two(s, 11)
  const minutes = two(s, 14)
  const seconds = two(s, 17)
  const ms = digit(s, 20) * 100 + two(s, 21)
  // NaN (a non-digit) fails every comparison below.
  if (
    !(year >= 0 && month >= 1 && month <= 12 && day >= 1 && hours <= 23 && minutes <= 59 && seconds <= 59 &&
      ms >= 0)
  ) return undefined
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const monthDays = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
  if (day > monthDays) return undefined
  // Days since the epoch from the civil date (the inverse of `format`'s).
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  const days = era * 146_097 + doe - 719_468
  return days * dayMs + hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + ms
}
