/**
 * One redaction pass for everything that leaves the process: log lines (console, journal, file),
 * the recorder's status file and `record --status`, webhook bodies, and error messages printed by
 * the CLI. Two rules:
 *
 * - the password of any URL with userinfo: `scheme://user:pass@host` → `scheme://user:***@host`,
 *   wherever it appears in text (ffmpeg repeats its input URL in its own error messages);
 * - known secrets (camera passwords from the configuration, the notification secret, passwords of
 *   notification URLs), registered once when they are read, replaced wherever they appear, raw or
 *   percent-encoded (`p@ss` is written `p%40ss` inside a URL).
 *
 * The registry is process-wide on purpose: the sinks (logger, status writer, notifier, CLI edge)
 * are far from the code that reads the configuration, and a secret known anywhere must be hidden
 * everywhere. Secrets shorter than 4 characters are not replaced in free text (a password "1"
 * would garble every number); inside URLs the first rule still hides them.
 */

export const REDACTED = '***';
const MIN_SECRET_LENGTH = 4;

const secrets = new Set<string>();
/** Longest first, so a secret that contains another is replaced whole. */
let ordered: string[] = [];

function add(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/** Registers a secret: it is replaced by *** in everything redact() sees from now on. */
export function registerSecret(value: string | undefined): void {
  if (!value) return;
  add(value);
  add(encodeURIComponent(value));
  try {
    add(decodeURIComponent(value));
  } catch {
    // Not percent-encoded text: the raw form is registered already.
  }
}

/**
 * Registers the password of a URL with userinfo. Read up to the last '@', so a password typed
 * with a raw '/' or '@' (not percent-encoded, as cameras' web pages often show it) is whole.
 */
export function registerUrlSecret(url: string): void {
  const m = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url.trim());
  if (!m) return;
  const rest = url.trim().slice(m[0].length);
  const at = rest.lastIndexOf('@');
  if (at < 0) return;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon >= 0) registerSecret(userinfo.slice(colon + 1));
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
  ordered = [];
}

/** A URL's scheme and authority (up to the path, query, fragment, or the end of the word). */
const URL_AUTHORITY = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s'"<>]*)/gi;

/**
 * `scheme://user:secret@host` → `scheme://user:***@host`. The user info ends at the authority's
 * last `@`, as URL parsers read it, so a password typed with a raw `@` is hidden whole.
 */
function maskUrlPasswords(text: string): string {
  return text.replace(URL_AUTHORITY, (whole, scheme: string, authority: string) => {
    const at = authority.lastIndexOf('@');
    const colon = authority.indexOf(':');
    if (at < 0 || colon < 0 || colon > at) return whole;
    return `${scheme}${authority.slice(0, colon)}:${REDACTED}${authority.slice(at)}`;
  });
}

/** The text with URL passwords and registered secrets replaced by ***. */
export function redact(text: string): string {
  let out = maskUrlPasswords(text);
  for (const s of ordered) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** A JSON-like value with every string (keys included) redacted; for status files and webhooks. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[redact(k)] = redactDeep(v);
    return out as T;
  }
  return value;
}
