#!/usr/bin/env node
/**
 * Recorder soak: runs the shipped CLI (`bin/camera-archiver record`, or CAMERA_ARCHIVER_BIN) against
 * real RTSP cameras on loopback (test/helpers/rtsp-camera.py), with every periodic interval
 * shortened, a storage threshold crossed (thresholds set around the disk's current usage, so the
 * guard fires on a real filesystem), a webhook receiver that makes the notifier retry, and camera
 * outages; then checks what a user relies on and prints a report (JSON, then a human summary).
 *
 *   npm run soak -- --minutes 30            two cameras, one outage of camera 1 in the middle
 *   npm run soak -- --minutes 2 --cameras 1 --outages 2 --outage-seconds 10
 *
 * Checks: one recorder process throughout (same PID, alive at every sample), exit 0 on SIGTERM,
 * no ffmpeg left behind, segments continuous except for the outages (gaps reported), RSS and open
 * file descriptors flat (early vs late samples), the status file truthful (camera not recording
 * during an outage, recording after), each periodic path fired at least `--min-runs` times, and the
 * camera password / notification secret absent from every file and request the recorder wrote.
 *
 * Used by test/e2e/record-soak.test.ts (short run, CI) through `soak()`; not run in CI itself.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_BIN = path.join(REPO, 'bin/camera-archiver');
const CAMERA_SCRIPT = path.join(REPO, 'test/helpers/rtsp-camera.py');
export const PASSWORD = 'Soak-Pa55word!';
export const NOTIFY_SECRET = 'soak-notify-secret-7f3a';
/** Paths that must fire at least minRuns times (status file `periodic` counters). */
export const PERIODIC_PATHS = [
  'status',
  'statusFlush',
  'storage',
  'heldRetry',
  'poll',
  'watchdog',
  'backoff',
  'thumbnail',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const STALL_SECONDS = 8;
/**
 * How long the status may still say "recording" after a camera vanished: a camera that drops
 * without closing its connection is seen as stalled after half the stall timeout (supervisor),
 * plus a poll, a status write and a sample.
 */
const TRUTH_DELAY_MS = (STALL_SECONDS / 2) * 1000 + 2500;

/**
 * The recorder's environment: ours without CAMERA_ARCHIVER_* (the CLI reads those as options, and
 * CAMERA_ARCHIVER_BIN is the harness's, not the recorder's).
 */
function recorderEnv() {
  const env = { ...process.env, TZ: 'UTC' };
  for (const k of Object.keys(env)) if (k.startsWith('CAMERA_ARCHIVER_')) delete env[k];
  return env;
}

/** True when /usr/bin/python3 has gst-rtsp-server (the loopback camera). */
export function rtspCameraAvailable() {
  return (
    spawnSync('/usr/bin/python3', [
      '-c',
      "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
    ]).status === 0
  );
}

function startCamera(port) {
  const child = spawn('/usr/bin/python3', [CAMERA_SCRIPT, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => (err += d.toString()));
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`rtsp-camera.py exited with ${code}: ${err}`)));
  });
}

async function stopCamera(child) {
  if (!child || child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Webhook receiver: answers 503 to the first `failFirst` attempts of each delivery. */
async function startHook(failFirst) {
  const requests = [];
  const attempts = new Map();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d.toString()));
    req.on('end', () => {
      const id = String(req.headers['x-camera-archiver-delivery'] ?? '');
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      requests.push({ id, attempt: n, headers: JSON.stringify(req.headers), body, url: req.url });
      if (n <= failFirst) {
        res.statusCode = 503;
        res.end('try again');
      } else res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, requests, url: `http://127.0.0.1:${server.address().port}/hook/token123` };
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** PIDs whose command line names a path under `root` (ffmpegs writing into it), `except` excluded. */
function processesUnder(root, except) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === except) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.startsWith(`${root}/`)) && !argv.some((a) => a.endsWith('soak.mjs')))
        found.push({ pid: Number(pid), cmd: argv.slice(0, 3).join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function readStatus(root) {
  try {
    return JSON.parse(readFileSync(path.join(root, '.record-status.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function durationOf(file) {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  return Number(r.stdout.trim()) || 0;
}

function stampMs(file) {
  const s = /_(\d{14})\.mp4$/.exec(file)?.[1] ?? '';
  const n = (a, b) => Number(s.slice(a, b));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
}

function median(values) {
  const v = values.filter((x) => x !== undefined).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : undefined;
}

/**
 * Runs one soak; resolves with the report (never throws for a failed check: `report.failures`
 * lists them). Options: seconds, cameras (1-2), outages, outageSeconds, segmentSeconds, bin,
 * minRuns, sampleMs, log (line printer), keep (leave the temp tree).
 */
export async function soak(options = {}) {
  const o = {
    seconds: 90,
    cameras: 2,
    outages: 1,
    outageSeconds: 12,
    segmentSeconds: 2,
    bin: process.env.CAMERA_ARCHIVER_BIN || DEFAULT_BIN,
    minRuns: 10,
    sampleMs: 1000,
    log: () => undefined,
    keep: false,
    ...options,
  };
  const work = mkdtempSync(path.join(os.tmpdir(), 'rec-soak-'));
  const root = path.join(work, 'cams');
  const failures = [];
  const check = (ok, what) => {
    if (!ok) failures.push(what);
    return ok;
  };
  const hook = await startHook(3);
  const ports = [];
  const servers = [];
  for (let i = 0; i < o.cameras; i++) {
    ports.push(await freePort());
    servers.push(await startCamera(ports[i]));
  }
  // Thresholds around the disk's current usage: block crossed (nothing old enough to remove, so
  // the guard reports "full" at every check), warn below it. Real statfs, real filesystem.
  const fs0 = statfsSync(work);
  const usedPct = Math.ceil(
    (100 * (fs0.blocks - fs0.bfree)) / (fs0.blocks - fs0.bfree + fs0.bavail),
  );
  const storage =
    usedPct >= 4
      ? { warnPercent: usedPct - 3, blockPercent: usedPct - 1 }
      : { warnPercent: 1, blockPercent: 100 };
  const config = {
    root,
    segmentTime: `${o.segmentSeconds}s`,
    // Above a loaded machine's hiccups (the camera and ffmpeg share the CPUs with the test).
    stallTimeout: `${STALL_SECONDS}s`,
    storage,
    intervals: {
      status: 0.5,
      statusFlush: 0.1,
      storage: 1,
      storageWarnRepeat: 2,
      poll: 0.25,
      restartBackoff: 0.2,
      restartBackoffMax: 0.5,
      healthyRun: 5,
      stopGrace: 6,
      heldRetry: 0.5,
      notifyTimeout: 2,
      notifyRetry: 0.1,
      notifyDeadline: 20,
    },
    cameras: ports.map((port, i) => ({
      name: `cam${i + 1}`,
      source: `rtsp://admin:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/cam`,
      rtspTimeout: '2s',
    })),
  };
  const configFile = path.join(work, 'record.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFile = path.join(work, 'recorder.log');
  const started = Date.now();
  const rec = spawn(
    process.execPath,
    [
      o.bin,
      'record',
      '--config',
      configFile,
      '--log-file',
      logFile,
      '--notify-url',
      hook.url,
      '--notify-secret',
      NOTIFY_SECRET,
      '-vv',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: recorderEnv() },
  );
  let stdout = '';
  let stderr = '';
  rec.stdout.on('data', (d) => (stdout += d.toString()));
  rec.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise((r) => rec.once('exit', (code, signal) => r({ code, signal })));
  let exit;
  void exited.then((e) => (exit = e));
  o.log(`recorder pid ${rec.pid}, ${o.cameras} camera(s), ${o.seconds} s, root ${root}`);

  const samples = [];
  const statusOutputs = [];
  // Outages of camera 1, evenly spread in the middle of the run.
  const outageWindows = [];
  for (let k = 0; k < o.outages; k++) {
    const at = ((k + 1) / (o.outages + 1)) * o.seconds * 1000 - (o.outageSeconds * 1000) / 2;
    outageWindows.push({ from: at, to: at + o.outageSeconds * 1000 });
  }
  let outage = -1;
  const durationMs = o.seconds * 1000;
  while (Date.now() - started < durationMs && !exit) {
    const t = Date.now() - started;
    const w = outageWindows.findIndex((x) => t >= x.from && t < x.to);
    if (w !== outage) {
      if (w >= 0) {
        o.log(`outage ${w + 1}: camera 1 off at ${(t / 1000).toFixed(0)} s`);
        await stopCamera(servers[0]);
        outageWindows[w].stoppedAt = Date.now();
      } else if (outage >= 0) {
        servers[0] = await startCamera(ports[0]);
        outageWindows[outage].startedAt = Date.now();
        o.log(`outage ${outage + 1}: camera 1 back at ${(t / 1000).toFixed(0)} s`);
      }
      outage = w;
    }
    const status = readStatus(root);
    samples.push({
      t,
      inOutage: w >= 0,
      outageAgeMs:
        w >= 0 && outageWindows[w].stoppedAt ? Date.now() - outageWindows[w].stoppedAt : undefined,
      sinceOutageMs: outageWindows
        .filter((x) => x.startedAt)
        .map((x) => Date.now() - x.startedAt)
        .sort((a, b) => a - b)[0],
      alive: existsSync(`/proc/${rec.pid}`),
      rss: rssKiB(rec.pid),
      fds: fdCount(rec.pid),
      load: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
      statusPid: status?.pid,
      cam1: status?.cameras?.find((c) => c.name === 'cam1')?.state,
    });
    // `record --status` as a user runs it, a few times (not every sample: it costs a process).
    if (samples.length % 15 === 5) {
      const r = spawnSync(process.execPath, [o.bin, 'record', root, '--status'], {
        encoding: 'utf8',
        env: recorderEnv(),
        timeout: 20_000,
      });
      statusOutputs.push({ t, inOutage: w >= 0, code: r.status, out: r.stdout + r.stderr });
    }
    await sleep(o.sampleMs);
  }
  if (outage >= 0) servers[0] = await startCamera(ports[0]);
  // systemd's stop (KillSignal=SIGTERM, KillMode=mixed: the recorder only).
  const endStatus = readStatus(root);
  rec.kill('SIGTERM');
  const stopTimer = setTimeout(() => rec.kill('SIGKILL'), 60_000);
  const result = await exited;
  clearTimeout(stopTimer);
  await sleep(500);
  const orphans = processesUnder(root, rec.pid);
  for (const p of orphans) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const s of servers) await stopCamera(s);
  hook.server.close();

  // --- analysis ---
  const finalStatus = readStatus(root);
  check(result.code === 0, `recorder exit ${result.code ?? result.signal} (expected 0 on SIGTERM)`);
  check(
    samples.every((s) => s.alive),
    'the recorder process was not alive at every sample',
  );
  const pids = new Set(samples.map((s) => s.statusPid).filter((p) => p !== undefined));
  check(
    pids.size === 1 && pids.has(rec.pid),
    `status file named pids ${[...pids].join(', ')} (expected only ${rec.pid}: no restart)`,
  );
  check(orphans.length === 0, `ffmpeg left running after stop: ${JSON.stringify(orphans)}`);

  const perCamera = {};
  const files = existsSync(root)
    ? walk(root).filter((f) => /\/\d{4}\/\d{2}\/\d{2}\/cam\d+_\d{14}\.mp4$/.test(f))
    : [];
  for (let i = 0; i < o.cameras; i++) {
    const name = `cam${i + 1}`;
    const mine = files.filter((f) => path.basename(f).startsWith(`${name}_`)).sort();
    const gaps = [];
    let recorded = 0;
    let prevEnd;
    for (const f of mine) {
      const d = durationOf(f);
      recorded += d;
      const start = stampMs(f);
      if (prevEnd !== undefined)
        gaps.push({ before: path.basename(f), gap: (start - prevEnd) / 1000 });
      prevEnd = start + d * 1000;
    }
    const expectedOutages = i === 0 ? o.outages : 0;
    const big = gaps.filter((g) => g.gap > 3.1).sort((a, b) => b.gap - a.gap);
    const overlaps = gaps.filter((g) => g.gap < -3.1);
    perCamera[name] = {
      segments: mine.length,
      recordedSeconds: Math.round(recorded),
      outageGaps: big.map((g) => Math.round(g.gap * 10) / 10),
      largestOtherGap:
        Math.round(Math.max(0, ...gaps.filter((g) => !big.includes(g)).map((g) => g.gap)) * 10) /
        10,
      restarts: finalStatus?.cameras?.find((c) => c.name === name)?.restarts,
    };
    check(mine.length > 0, `${name}: no segments`);
    check(
      big.length <= expectedOutages,
      `${name}: ${big.length} gaps over 3.1 s (${big.map((g) => `${g.gap.toFixed(1)} s before ${g.before}`).join(', ')}); expected at most ${expectedOutages} (the outages)`,
    );
    check(overlaps.length === 0, `${name}: overlapping segments ${JSON.stringify(overlaps)}`);
    for (const g of big)
      check(
        g.gap < o.outageSeconds + 20,
        `${name}: a gap of ${g.gap.toFixed(1)} s is far longer than the ${o.outageSeconds}-s outage`,
      );
  }

  // Flat memory and fds: medians of the second and the last fifth of the run, camera 1 up.
  const up = samples.filter((s) => !s.inOutage && (s.sinceOutageMs ?? Infinity) > 5000);
  const n = samples.length;
  const early = up.filter((s) => s.t >= durationMs * 0.15 && s.t < durationMs * 0.35);
  const late = up.filter((s) => s.t >= durationMs * 0.8);
  const rss = {
    earlyKiB: median(early.map((s) => s.rss)),
    lateKiB: median(late.map((s) => s.rss)),
  };
  const fds = { early: median(early.map((s) => s.fds)), late: median(late.map((s) => s.fds)) };
  rss.maxKiB = Math.max(...samples.map((s) => s.rss ?? 0));
  // The trend, not just two points: median RSS (MiB), fds and load average of each tenth of the run.
  const tenths = Array.from({ length: 10 }, (_, k) =>
    samples.filter((s) => s.t >= (k * durationMs) / 10 && s.t < ((k + 1) * durationMs) / 10),
  );
  const trend = {
    rssMiB: tenths.map((t) => Math.round((median(t.map((s) => s.rss)) ?? 0) / 102.4) / 10),
    fds: tenths.map((t) => median(t.map((s) => s.fds)) ?? 0),
    load: tenths.map((t) => median(t.map((s) => s.load)) ?? 0),
  };
  if (rss.earlyKiB && rss.lateKiB)
    check(
      rss.lateKiB <= rss.earlyKiB * 1.25 + 16 * 1024,
      `RSS grew from ${rss.earlyKiB} KiB to ${rss.lateKiB} KiB`,
    );
  else check(false, `not enough RSS samples (${n} samples)`);
  if (fds.early !== undefined && fds.late !== undefined)
    check(fds.late <= fds.early + 4, `open fds grew from ${fds.early} to ${fds.late}`);

  // The status file told the truth: camera 1 not recording once an outage is older than the
  // detection delay (TRUTH_DELAY_MS), recording again after it.
  const deep = samples.filter((s) => s.inOutage && (s.outageAgeMs ?? 0) > TRUTH_DELAY_MS);
  check(
    o.outages === 0 || deep.length > 0,
    'no status sample deep in an outage (outage too short?)',
  );
  check(
    deep.every((s) => s.cam1 !== 'recording'),
    `status showed cam1 recording ${TRUTH_DELAY_MS / 1000} s and more into an outage: ${deep.map((s) => `${(s.outageAgeMs / 1000).toFixed(1)} s ${s.cam1}`).join(', ')}`,
  );
  const afterLast = samples.filter((s) => !s.inOutage && (s.sinceOutageMs ?? 0) > 15_000);
  check(
    o.outages === 0 || afterLast.some((s) => s.cam1 === 'recording'),
    'status never showed cam1 recording again after the outage',
  );
  const statusDuringOutage = statusOutputs.filter((s) => s.inOutage);
  for (const s of statusOutputs)
    check(s.code === 0, `record --status exited ${s.code} while the recorder ran: ${s.out}`);

  // Every periodic path fired often enough.
  const periodic = endStatus?.periodic ?? {};
  for (const p of PERIODIC_PATHS) {
    const runs = periodic[p]?.runs ?? 0;
    // Backoff only fires while a camera is down.
    if (p === 'backoff' && o.outages === 0) continue;
    check(runs >= o.minRuns, `periodic path ${p} ran ${runs} times (< ${o.minRuns})`);
  }
  const retries = hook.requests.filter((r) => r.attempt > 1).length;
  periodic.notifyRetry = { runs: retries, failures: 0 };
  if (o.outages >= 2)
    check(retries >= o.minRuns, `notifier retried ${retries} times (< ${o.minRuns})`);
  const events = [
    ...new Set(hook.requests.filter((r) => r.attempt === 4).map((r) => JSON.parse(r.body).event)),
  ];

  // No secret anywhere: log files, stderr/stdout, status file, --status output, webhook requests.
  const leaks = [];
  const secrets = [PASSWORD, encodeURIComponent(PASSWORD), NOTIFY_SECRET];
  const haystacks = [
    ['stderr', stderr],
    ['stdout', stdout],
    ...statusOutputs.map((s, i) => [`record --status #${i + 1}`, s.out]),
    ...hook.requests.map((r, i) => [`webhook request #${i + 1}`, r.body + r.headers]),
  ];
  if (existsSync(root))
    for (const f of walk(work)) {
      if (f.endsWith('.mp4') || f.endsWith('.jpg') || f === configFile) continue;
      haystacks.push([path.relative(work, f), readFileSync(f, 'utf8')]);
    }
  for (const [where, text] of haystacks)
    for (const s of secrets)
      if (text.includes(s))
        leaks.push(
          `${where} contains ${s === NOTIFY_SECRET ? 'the notify secret' : 'the camera password'}`,
        );
  check(leaks.length === 0, `secrets leaked: ${leaks.join('; ')}`);
  const statusMode = existsSync(path.join(root, '.record-status.json'))
    ? (statSync(path.join(root, '.record-status.json')).mode & 0o777).toString(8)
    : 'missing';
  check(statusMode === '600', `status file mode ${statusMode} (expected 600)`);

  const report = {
    ok: failures.length === 0,
    failures,
    bin: o.bin,
    seconds: Math.round((Date.now() - started) / 1000),
    cameras: o.cameras,
    outages: outageWindows.map((w) => ({
      fromS: Math.round(w.from / 1000),
      toS: Math.round(w.to / 1000),
    })),
    recorderPid: rec.pid,
    exit: result.code ?? result.signal,
    samples: samples.length,
    perCamera,
    rss,
    fds,
    trend,
    periodic,
    webhookRequests: hook.requests.length,
    webhookEvents: events,
    statusChecks: statusOutputs.length,
    statusDuringOutage: statusDuringOutage.map(
      (s) => s.out.split('\n').find((l) => l.includes('camera cam1')) ?? '',
    ),
    orphans,
    statusFileMode: statusMode,
    leaks,
    work: o.keep || failures.length > 0 ? work : undefined,
    stderrTail: failures.length > 0 ? stderr.split('\n').slice(-40).join('\n') : undefined,
  };
  if (!o.keep && failures.length === 0) rmSync(work, { recursive: true, force: true });
  return report;
}

/** Human summary of a report. */
export function formatReport(r) {
  const lines = [
    `recorder soak: ${r.ok ? 'PASS' : 'FAIL'} — ${r.seconds} s, ${r.cameras} camera(s), outages at ${r.outages.map((w) => `${w.fromS}-${w.toS} s`).join(', ') || 'none'}`,
    `  one process: pid ${r.recorderPid}, exit ${r.exit} on SIGTERM, ${r.samples} samples; ffmpeg orphans after stop: ${r.orphans.length}`,
    // Which camera-archiver ran: under `npm test`, the one installed from the packed tarball.
    `  binary: ${r.bin}`,
  ];
  for (const [name, c] of Object.entries(r.perCamera))
    lines.push(
      `  ${name}: ${c.segments} segments, ${c.recordedSeconds} s recorded, ${c.restarts ?? '?'} ffmpeg restarts; outage gaps ${c.outageGaps.map((g) => `${g} s`).join(', ') || 'none'}; largest other gap ${c.largestOtherGap} s`,
    );
  lines.push(
    `  RSS ${Math.round(r.rss.earlyKiB / 1024)} MiB early → ${Math.round(r.rss.lateKiB / 1024)} MiB late (max ${Math.round(r.rss.maxKiB / 1024)} MiB); open fds ${r.fds.early} → ${r.fds.late}`,
    `  trend by tenths of the run: RSS MiB ${r.trend.rssMiB.join(' ')}; fds ${r.trend.fds.join(' ')}; load average ${r.trend.load.join(' ')}`,
    `  periodic runs: ${Object.entries(r.periodic)
      .map(([k, v]) => `${k} ${v.runs}${v.failures ? ` (${v.failures} failed)` : ''}`)
      .join(', ')}`,
    `  webhook: ${r.webhookRequests} requests; status file mode ${r.statusFileMode}; secrets leaked: ${r.leaks.length}`,
  );
  for (const f of r.failures) lines.push(`  FAILED: ${f}`);
  if (r.work) lines.push(`  files kept in ${r.work}`);
  return `${lines.join('\n')}\n`;
}

async function main(argv) {
  const opt = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : fallback;
  };
  if (!rtspCameraAvailable()) {
    process.stderr.write(
      'soak: needs /usr/bin/python3 with gst-rtsp-server (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly)\n',
    );
    process.exitCode = 2;
    return;
  }
  const minutes = opt('minutes', 5);
  const report = await soak({
    seconds: Math.round(minutes * 60),
    cameras: opt('cameras', 2),
    outages: opt('outages', 1),
    outageSeconds: opt('outage-seconds', minutes >= 10 ? 60 : 15),
    segmentSeconds: opt('segment-seconds', minutes >= 10 ? 10 : 2),
    sampleMs: opt('sample-ms', minutes >= 10 ? 5000 : 1000),
    keep: argv.includes('--keep'),
    log: (line) => process.stderr.write(`soak: ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(formatReport(report));
  process.exitCode = report.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
