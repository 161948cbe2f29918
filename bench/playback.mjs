/**
 * Does a browser play these archives? Serves the files on loopback, opens a page in headless
 * Chromium that loads each in a <video>, seeks, plays, and draws a frame, and prints what happened.
 *
 *   node bench/playback.mjs ARCHIVE.mp4 [MORE.mp4 …]   (needs `chromium` on PATH; exit 1 if one fails)
 *
 * A manual check (browsers are not a test dependency); BENCHMARKS.md has its last result.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const files = process.argv.slice(2).map((f) => path.resolve(f));
if (files.length === 0) throw new Error('usage: node bench/playback.mjs ARCHIVE.mp4 [MORE.mp4 …]');

const page = `<!doctype html><html><body><pre id="out"></pre><script>
const out = document.getElementById('out');
async function check(i) {
  const v = document.createElement('video');
  v.muted = true; v.preload = 'auto'; v.src = '/file/' + i;
  document.body.appendChild(v);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('FAIL timeout'), 30000);
    v.onerror = () => { clearTimeout(t); resolve('FAIL ' + (v.error ? v.error.code + ' ' + v.error.message : 'error')); };
    v.onloadeddata = async () => {
      try {
        v.currentTime = v.duration / 2;
        await new Promise((ok) => (v.onseeked = ok));
        await v.play();
        await new Promise((ok) => setTimeout(ok, 1000));
        v.pause();
        const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
        const g = c.getContext('2d'); g.drawImage(v, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data; let lit = 0;
        for (let k = 0; k < px.length; k += 4) if (px[k] + px[k + 1] + px[k + 2] > 30) lit++;
        const q = v.getVideoPlaybackQuality();
        clearTimeout(t);
        resolve((lit > 0 && q.totalVideoFrames > 0 ? 'ok' : 'FAIL blank') + ' ' + v.videoWidth + 'x' + v.videoHeight +
          ', ' + v.duration.toFixed(1) + ' s, ' + q.totalVideoFrames + ' frames decoded, ' + lit + ' lit pixels');
      } catch (e) { clearTimeout(t); resolve('FAIL ' + e); }
    };
  });
}
(async () => {
  const i = Number(new URLSearchParams(location.search).get('file'));
  out.textContent += 'RESULT ' + i + ' ' + (await check(i)) + '\\n';
  out.textContent += 'DONE\\n';
})();
</script></body></html>`;

const server = createServer((req, res) => {
  const m = /^\/file\/(\d+)$/.exec(req.url ?? '');
  const file = m ? files[Number(m[1])] : undefined;
  if (!file) {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    return;
  }
  // The whole file each time, and the connection closed: headless Chromium's virtual clock only
  // waits for requests that finish (range requests on a kept-alive stream stall it).
  res.writeHead(200, {
    'content-type': 'video/mp4',
    'content-length': statSync(file).size,
    connection: 'close',
  });
  createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;
const version = spawnSync('chromium', ['--version'], { encoding: 'utf8' }).stdout?.trim();
if (!version) throw new Error('chromium not found on PATH (Debian: apt-get install chromium)');
// One browser per file: a third video in one headless page stalls its virtual clock.
const open = (i) =>
  new Promise((resolve) =>
    execFile(
      'chromium',
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--autoplay-policy=no-user-gesture-required',
        '--virtual-time-budget=120000',
        '--dump-dom',
        `${url}?file=${i}`,
      ],
      { timeout: 180_000, maxBuffer: 1 << 24 },
      (error, stdout) => resolve(error ? `FAIL ${error.message}` : stdout),
    ),
  );
console.log(version);
let failed = 0;
for (const [i, f] of files.entries()) {
  const dom = await open(i);
  const line = new RegExp(`RESULT ${i} (.*)`).exec(dom)?.[1] ?? 'FAIL no result';
  if (!line.startsWith('ok')) failed = 1;
  console.log(`${f}: ${line}`);
}
server.close();
process.exitCode = failed;
