/** Bounded polling for tests that watch another process (never a timing assertion). */
export async function waitFor(
  check: () => boolean,
  timeoutMs: number,
  intervalMs = 25,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return check();
}
