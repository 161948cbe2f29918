#!/usr/bin/env node
// `npm run demo`: builds a small sample camera tree with ffmpeg (two cameras, thumbnails, one
// recent clip that must be kept), previews the run, archives it for real, and shows the result.
// Uses the same ffmpeg the tool finds: the system one, or the npm-packaged fallback.
// `npm run demo -- DIR` builds it in DIR instead of ./demo-camera. A demo folder is replaced on
// the next demo run; any other folder is never removed (the marker file below tells them apart).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(process.argv[2] ?? path.join(repo, 'demo-camera'));
const { locateTool } = await import(path.join(repo, 'dist/media/toolchain.js'));
const ffmpeg = locateTool('ffmpeg', undefined, process.env).path;

const pad = (n) => String(n).padStart(2, '0');
const stampOf = (d) =>
  `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
const dayDir = (s) => path.join(root, s.slice(0, 4), s.slice(4, 6), s.slice(6, 8));

// Written into every folder the demo creates; only a folder holding it is ever removed.
const MARKER = '.camera-archiver-demo';
if (existsSync(root)) {
  if (existsSync(path.join(root, MARKER))) rmSync(root, { recursive: true, force: true });
  else if (readdirSync(root).length > 0) {
    console.error(
      `${root} exists and was not made by the demo: nothing was changed. Name a new or empty folder.`,
    );
    process.exit(2);
  }
}
mkdirSync(root, { recursive: true });
writeFileSync(
  path.join(root, MARKER),
  'made by camera-archiver scripts/demo.mjs; removed by its next run\n',
);
const templates = path.join(root, '.demo-templates');
mkdirSync(templates, { recursive: true });
const make = (name, pattern) => {
  const out = path.join(templates, name);
  execFileSync(ffmpeg, [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `${pattern}=size=640x360:rate=15`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=330:sample_rate=16000',
    '-t',
    '4',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '1500k',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '30',
    '-c:a',
    'aac',
    '-b:a',
    '48k',
    '-shortest',
    out,
  ]);
  return out;
};
const clips = { front: make('front.mp4', 'testsrc2'), back: make('back.mp4', 'testsrc') };
const thumb = path.join(templates, 'thumb.jpg');
execFileSync(ffmpeg, [
  '-hide_banner',
  '-nostdin',
  '-v',
  'error',
  '-y',
  '-i',
  clips.front,
  '-frames:v',
  '1',
  thumb,
]);

const now = Date.now();
const put = (camera, when, withThumb) => {
  const stamp = stampOf(when);
  mkdirSync(dayDir(stamp), { recursive: true });
  const base = path.join(dayDir(stamp), `REO_${camera}_${stamp}`);
  copyFileSync(clips[camera], `${base}.mp4`);
  const t = new Date(when.getTime() + 60_000);
  utimesSync(`${base}.mp4`, t, t);
  if (withThumb) copyFileSync(thumb, `${base}.jpg`);
};
for (const daysAgo of [40, 39, 38]) {
  const d = new Date(now - daysAgo * 86_400_000);
  d.setHours(12, 0, 0, 0);
  put('front', d, true);
  put('back', d, daysAgo !== 39); // both cameras in the same second: two archives, never one
}
put('front', new Date(now - 86_400_000), true); // yesterday: newer than --age 30, kept
rmSync(templates, { recursive: true, force: true });

// The tree's files (the trash included), without the log and the marker.
const list = () =>
  fg
    .sync('**/*', { cwd: root, dot: true, stats: true, ignore: ['archiver*', MARKER] })
    .map((e) => `${e.path}  (${e.stats?.size ?? 0} bytes)`);
const show = (title) => {
  console.log(`\n== ${title}: ${root}`);
  for (const line of list().sort()) console.log(`   ${line}`);
};
const run = (args) => {
  console.log(`\n$ camera-archiver ${args.join(' ')}`);
  return spawnSync(process.execPath, [path.join(repo, 'bin/camera-archiver'), ...args], {
    stdio: 'inherit',
  }).status;
};

show('sample tree');
run([root, '--dry-run', '--encoder', 'software']);
const code = run([root, '-y', '--encoder', 'software', '--progress', 'lines']);
show('after the run');
console.log(
  `\nexit code ${code}. Archives are in ${path.join(root, 'archived')}, sources in ${path.join(root, '.deleted')}.`,
);
process.exit(code ?? 1);
