/**
 * Text from a model, a tool or a log made safe to write to a terminal. A model's reply (steered by a web
 * page a tool fetched, say) or a tool's error message could carry control sequences the terminal obeys:
 * clear the screen and draw a fake prompt, set the window title, write the clipboard (OSC 52), hide text,
 * or move the cursor back over a line (`\r`). Every control character but `\n` and `\t` is shown instead:
 * C0 and DEL in caret notation (`^[`, `^G`, `^?`), C1 and bidirectional overrides (which reorder what is
 * shown) as `\u` escapes; a `\r` is dropped (a `\r\n` line end prints as `\n`).
 *
 * @internal
 */

// C0 but \t and \n, DEL, C1, and the bidirectional embedding/override/isolate characters.

const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

const shown = (ch: string): string => {
  const code = ch.charCodeAt(0)
  if (code === 0x0d) return ""
  if (code < 0x20) return `^${String.fromCharCode(code + 64)}`
  if (code === 0x7f) return "^?"
  return `\\u${code.toString(16).padStart(4, "0")}`
}

/** `text` with its control characters shown, not obeyed (see the module's description). */
export const safe = (text: string): string => text.replace(unsafe, shown)
