#!/usr/bin/env node
// Adds to package-lock.json the other-platform optional packages that a filtered registry mirror
// could not serve (npm then leaves them out, and `npm ci` rejects the lock everywhere). They are
// recorded by version, os and cpu only: npm never installs them on a non-matching platform, and
// fetches them by version on one that matches. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

/** os, cpu and libc from a platform package name such as rollup-linux-arm-musleabihf. */
function platformOf(name) {
  const parts = name
    .replace(/^@[^/]+\//, '')
    .split('-')
    .slice(1);
  const [os, cpu, abi] = parts;
  const cpuMap = { 'arm-eabi': 'arm' };
  const result = { os: [os], cpu: [cpuMap[`${cpu}-${abi}`] ?? cpu] };
  if (os === 'linux' && abi) result.libc = [abi.startsWith('musl') ? 'musl' : 'glibc'];
  return result;
}

let added = 0;
for (const [where, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    if (!/^@(rollup|esbuild)\//.test(dep)) continue;
    const key = `${where ? `${where}/` : ''}node_modules/${dep}`.replace(
      /^.*?node_modules\/(@)/,
      'node_modules/$1',
    );
    if (packages[key]) continue;
    packages[key] = {
      version,
      ...platformOf(dep),
      license: entry.license ?? 'MIT',
      optional: true,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} optional platform package(s) added`);
