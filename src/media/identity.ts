/**
 * Archive identity: which clip an archive was made from, written into the archive's own metadata
 * by the ffmpeg command that encodes it (one MP4 tag, `camera_archiver_source`). Verification
 * asks "is this the archive of *this* clip?", not only "is this a plausible video?": a file at the
 * archive's name may be another camera's, a misfiled upload's, or another tool's.
 *
 * The fingerprint reads 2 MiB of the clip (its first and last MiB), not all of it: enough to tell
 * two clips apart (their headers and tails differ with any difference in content or length), and
 * cheap next to the transcode (BENCHMARKS.md).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';

/** The MP4 metadata key (written with `-movflags +use_metadata_tags`, read as a format tag). */
export const IDENTITY_TAG = 'camera_archiver_source';
const VERSION = 'v1';
const EDGE_BYTES = 1024 * 1024;

export interface SourceIdentity {
  /** Path relative to the input root, '/'-separated. Informational. */
  relPath: string;
  size: number;
  /** Modification time, ms since the epoch, floored. Informational. */
  mtimeMs: number;
  /** SHA-256 hex of the first and last MiB and the size (see fingerprintFile). */
  sha256: string;
}

/** Shown by dry runs, where the clip has not been read yet. */
export const IDENTITY_PLACEHOLDER = `${VERSION};size=<size>;mtime=<mtime>;sha256=<first and last MiB>;path=<clip>`;

/**
 * The output options that record `identity` in an archive: the tag, the movflag that lets the MP4
 * muxer write a key of its own (an mdta atom), and the index at the front (archives play while
 * streaming). With use_metadata_tags the muxer would also write the clip's copied brand keys,
 * which readers then take for the archive's own (an AV1 archive reading "avc1"): they are cleared,
 * the real `ftyp` box says what the file is. Used by the transcode and the stream copy alike.
 */
export function identityOutputArgs(identity: string): string[] {
  return [
    '-metadata',
    `${IDENTITY_TAG}=${identity}`,
    ...['major_brand', 'minor_version', 'compatible_brands'].flatMap((key) => [
      '-metadata',
      `${key}=`,
    ]),
    '-movflags',
    '+faststart+use_metadata_tags',
  ];
}

export function formatIdentity(id: SourceIdentity): string {
  return `${VERSION};size=${id.size};mtime=${Math.floor(id.mtimeMs)};sha256=${id.sha256};path=${encodeURIComponent(id.relPath)}`;
}

/** The identity in a tag's value; undefined when absent or not in a format this version knows. */
export function parseIdentity(value: string | undefined): SourceIdentity | undefined {
  if (!value) return undefined;
  const parts = value.split(';');
  if (parts[0] !== VERSION) return undefined;
  const fields = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const size = Number(fields.get('size'));
  const mtimeMs = Number(fields.get('mtime'));
  const sha256 = fields.get('sha256') ?? '';
  if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  let relPath = '';
  try {
    relPath = decodeURIComponent(fields.get('path') ?? '');
  } catch {
    // A path that does not decode is only informational: the identity is size and fingerprint.
  }
  return { relPath, size, mtimeMs: Number.isFinite(mtimeMs) ? mtimeMs : 0, sha256 };
}

/** Same footage: size and fingerprint. A moved or touched clip is still the same clip. */
export function identityMatches(recorded: SourceIdentity, clip: SourceIdentity): boolean {
  return recorded.size === clip.size && recorded.sha256 === clip.sha256;
}

/**
 * SHA-256 of the first min(size, 1 MiB) bytes, then the bytes from max(1 MiB, size − 1 MiB) to the
 * end, then the decimal size. Reads from an open handle so both reads see one file.
 */
export async function fingerprintFile(file: string): Promise<{ sha256: string; size: number }> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const hash = createHash('sha256');
    const headLength = Math.min(size, EDGE_BYTES);
    const tailStart = Math.max(headLength, size - EDGE_BYTES);
    for (const [start, length] of [
      [0, headLength],
      [tailStart, size - tailStart],
    ] as const) {
      if (length <= 0) continue;
      const buffer = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const r = await handle.read(buffer, read, length - read, start + read);
        if (r.bytesRead === 0) break;
        read += r.bytesRead;
      }
      hash.update(buffer.subarray(0, read));
    }
    hash.update(String(size));
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

export async function readIdentity(
  file: string,
  relPath: string,
  mtimeMs: number,
): Promise<SourceIdentity> {
  const { sha256, size } = await fingerprintFile(file);
  return { relPath, size, mtimeMs, sha256 };
}
