import * as fs from "node:fs"

/**
 * Whether `pid` can still run code. A killed process leaves the run queue only when the scheduler gets to
 * it, which on a loaded machine can take a while after `kill` returned; a process with SIGKILL pending or
 * already exiting can never run user code again, so it counts as dead, like a vanished pid or a zombie.
 */
export const canStillRun = (pid: number): boolean => {
  let stat: string
  let status: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  } catch {
    return false
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const state = fields[0]
  if (state === "Z" || state === "X" || state === "x") return false
  const PF_EXITING = 0x4
  if ((Number(fields[6]) & PF_EXITING) !== 0) return false
  const SIGKILL_BIT = 1n << 8n
  for (const key of ["ShdPnd", "SigPnd"]) {
    const mask = new RegExp(`^${key}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1]
    if (mask !== undefined && (BigInt(`0x${mask}`) & SIGKILL_BIT) !== 0n) return false
  }
  return true
}
