/**
 * Fault injection for the reliability tests: `ARCHIVER_FAILPOINT=<name>[:<n>][:stop]` makes the
 * process SIGKILL itself (a power cut at an exact instant) — or, with `:stop`, SIGSTOP itself so a
 * test can deliver a signal at that exact point and SIGCONT — the n-th time (default 1st) the run
 * reaches step boundary <name> (executor.ts FAILPOINTS). Unset in every normal run.
 * (Not CAMERA_ARCHIVER_*: that prefix is read as options.)
 */
export function failpointFromEnv(env: NodeJS.ProcessEnv): ((name: string) => void) | undefined {
  const spec = env.ARCHIVER_FAILPOINT;
  if (!spec) return undefined;
  const [target, nth, action] = spec.split(':');
  const wanted = Number(nth || 1);
  let seen = 0;
  return (name) => {
    if (name === target && ++seen === wanted)
      process.kill(process.pid, action === 'stop' ? 'SIGSTOP' : 'SIGKILL');
  };
}
