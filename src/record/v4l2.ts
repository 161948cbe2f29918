/**
 * `detect`: USB (V4L2) cameras with their formats, sizes and frame rates, their stable
 * /dev/v4l/by-id names, and a suggested config. The parsers read `v4l2-ctl` text (v4l-utils 1.22
 * format strings); the runner takes its commands and device listings through `DetectIo`.
 */
import { stringify } from 'yaml';

export interface V4l2Device {
  card: string;
  bus: string;
  nodes: string[];
}

export interface FrameSize {
  width: number;
  height: number;
  /** Discrete frame rates offered at this size (fps), highest first. */
  fps: number[];
  /** Stepwise/continuous ranges: the largest size and the range of rates, when given so. */
  stepwise?: boolean;
}

export interface PixelFormat {
  index: number;
  fourcc: string;
  description: string;
  compressed: boolean;
  emulated: boolean;
  sizes: FrameSize[];
}

/** `Card name (bus-info):` then tab-indented nodes, blocks separated by blank lines. */
export function parseListDevices(text: string): V4l2Device[] {
  const devices: V4l2Device[] = [];
  let current: V4l2Device | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) {
      current = undefined;
      continue;
    }
    if (/^\s/.test(line)) {
      const node = line.trim();
      if (current && node.startsWith('/dev/')) current.nodes.push(node);
      continue;
    }
    // The card name may itself contain parentheses: the bus info is the last group.
    const m = /^(.*?)\s*\(([^()]*)\):\s*$/.exec(line);
    if (m) {
      current = { card: (m[1] ?? '').trim(), bus: m[2] ?? '', nodes: [] };
      devices.push(current);
    } else if (line.endsWith(':')) {
      current = { card: line.slice(0, -1).trim(), bus: '', nodes: [] };
      devices.push(current);
    } else {
      // "Cannot open device /dev/video0, exiting." and similar: not a device block.
      current = undefined;
    }
  }
  return devices;
}

const FORMAT_LINE = /^\s*\[(\d+)\]: '(\S+)' \((.*?)(, compressed|, emulated)?(, emulated)?\)\s*$/;
const DISCRETE_SIZE = /^\s*Size: Discrete (\d+)x(\d+)/;
const RANGE_SIZE = /^\s*Size: (?:Stepwise|Continuous) (\d+)x(\d+) - (\d+)x(\d+)/;
const DISCRETE_INTERVAL = /^\s*Interval: Discrete ([\d.]+)s \(([\d.]+) fps\)/;
const RANGE_INTERVAL =
  /^\s*Interval: (?:Stepwise|Continuous) [\d.]+s - [\d.]+s .*\(([\d.]+)-([\d.]+) fps\)/;

/** `v4l2-ctl -d DEV --list-formats-ext`: capture formats only (metadata nodes yield none). */
export function parseFormats(text: string): PixelFormat[] {
  const parser = new FormatListParser();
  for (const line of text.split('\n')) parser.line(line);
  return parser.finish();
}

/**
 * The listing is nested by indentation only: a Type line opens a section, a format line a
 * format, a Size line a size, and Interval lines belong to the size above them. The parser keeps
 * the section, format and size being read.
 */
class FormatListParser {
  private readonly formats: PixelFormat[] = [];
  private format: PixelFormat | undefined;
  private size: FrameSize | undefined;
  private capture = true;

  line(line: string): void {
    const type = /^\s*Type: (.*)$/.exec(line);
    if (type) {
      // Multi-planar capture is still capture; "Video Output" or "Metadata Capture" is not ours.
      this.capture = /^Video Capture/.test(type[1]?.trim() ?? '');
      this.format = undefined;
      this.size = undefined;
      return;
    }
    if (!this.capture) return;
    const f = FORMAT_LINE.exec(line);
    if (f) return this.openFormat(f);
    if (this.format) this.sizeOrInterval(this.format, line);
  }

  /** The formats read, each size's frame rates fastest first. */
  finish(): PixelFormat[] {
    for (const f of this.formats) for (const s of f.sizes) s.fps.sort((a, b) => b - a);
    return this.formats;
  }

  private openFormat(f: RegExpExecArray): void {
    const flags = `${f[4] ?? ''}${f[5] ?? ''}`;
    this.format = {
      index: Number(f[1]),
      fourcc: f[2] ?? '',
      description: f[3] ?? '',
      compressed: flags.includes('compressed'),
      emulated: flags.includes('emulated'),
      sizes: [],
    };
    this.formats.push(this.format);
    this.size = undefined;
  }

  /** A stepwise or continuous range is listed by its largest size and its fastest rate. */
  private sizeOrInterval(format: PixelFormat, line: string): void {
    const d = DISCRETE_SIZE.exec(line);
    if (d) {
      this.size = { width: Number(d[1]), height: Number(d[2]), fps: [] };
      format.sizes.push(this.size);
      return;
    }
    const r = RANGE_SIZE.exec(line);
    if (r) {
      this.size = { width: Number(r[3]), height: Number(r[4]), fps: [], stepwise: true };
      format.sizes.push(this.size);
      return;
    }
    if (!this.size) return;
    const i = DISCRETE_INTERVAL.exec(line);
    if (i) {
      this.size.fps.push(Number(i[2]));
      return;
    }
    const ri = RANGE_INTERVAL.exec(line);
    if (ri) this.size.fps.push(Number(ri[2]));
  }
}

/** FourCC → ffmpeg's `-input_format` name (undefined: ffmpeg's v4l2 demuxer has no name for it). */
export function ffmpegInputFormat(fourcc: string): string | undefined {
  const map: Record<string, string> = {
    MJPG: 'mjpeg',
    JPEG: 'mjpeg',
    YUYV: 'yuyv422',
    UYVY: 'uyvy422',
    H264: 'h264',
    HEVC: 'hevc',
    NV12: 'nv12',
    YU12: 'yuv420p',
    GREY: 'gray',
    RGB3: 'rgb24',
    BGR3: 'bgr24',
  };
  return map[fourcc];
}

export interface Suggestion {
  inputFormat: string;
  size: string;
  frameRate: number;
  mode: 'copy' | 'encode';
}

/**
 * The setting to record with: H.264 can be copied, so it wins; then MJPEG (USB2 carries full
 * size at full rate), then raw. Within a format, the largest size offering at least 15 fps.
 */
export function suggestFormat(formats: readonly PixelFormat[]): Suggestion | undefined {
  const rank = (fourcc: string): number =>
    ({ H264: 0, MJPG: 1, JPEG: 1, YUYV: 2, NV12: 3 })[fourcc] ?? 9;
  const usable = formats
    .filter((f) => !f.emulated && ffmpegInputFormat(f.fourcc) !== undefined)
    .sort((a, b) => rank(a.fourcc) - rank(b.fourcc));
  for (const f of usable) {
    const sizes = [...f.sizes].sort((a, b) => b.width * b.height - a.width * a.height);
    const good = sizes.find((s) => (s.fps[0] ?? 0) >= 15) ?? sizes[0];
    if (!good) continue;
    const inputFormat = ffmpegInputFormat(f.fourcc) ?? f.fourcc.toLowerCase();
    return {
      inputFormat,
      size: `${good.width}x${good.height}`,
      frameRate: good.fps[0] ?? 30,
      mode: inputFormat === 'h264' ? 'copy' : 'encode',
    };
  }
  return undefined;
}

/** A camera name from a card name: `HD Pro Webcam C920` → `hd-pro-webcam-c920`. */
export function cameraNameOf(card: string, taken: Set<string>): string {
  const base =
    card
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'camera';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

export interface DetectedCamera {
  card: string;
  bus: string;
  /** The capture node (UVC cameras also expose a metadata node, which is skipped). */
  node: string;
  /** /dev/v4l/by-id/… link to the node, when udev made one: survives re-plugging. */
  stableName?: string | undefined;
  formats: PixelFormat[];
  suggestion?: Suggestion | undefined;
}

export interface DetectIo {
  /** Path of v4l2-ctl, or undefined when it is not installed. */
  findV4l2Ctl(): string | undefined;
  run(
    binary: string,
    args: string[],
  ): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** /dev/v4l/by-id links → their targets (resolved /dev/videoN). */
  byIdLinks(): Promise<Map<string, string>>;
  /** /dev/video* nodes present. */
  videoNodes(): Promise<string[]>;
}

export type DetectResult =
  | { status: 'ok'; cameras: DetectedCamera[] }
  | { status: 'no-tool'; message: string; nodes: string[] }
  | { status: 'none'; message: string };

export async function detectCameras(io: DetectIo): Promise<DetectResult> {
  const tool = io.findV4l2Ctl();
  const nodes = await io.videoNodes();
  if (!tool) {
    return {
      status: 'no-tool',
      message: `v4l2-ctl is not installed, so cameras cannot be listed with their formats: install v4l-utils (Debian/Ubuntu: apt-get install v4l-utils).${
        nodes.length
          ? ` Video devices present: ${nodes.join(', ')}`
          : ' No /dev/video* devices exist either.'
      }`,
      nodes,
    };
  }
  const list = await io.run(tool, ['--list-devices']);
  const devices = parseListDevices(list.stdout);
  if (devices.length === 0) {
    return {
      status: 'none',
      message: `no V4L2 cameras found (${nodes.length ? `v4l2-ctl lists none, though ${nodes.join(', ')} exist` : 'no /dev/video* devices'}): is the camera plugged in, and is this user in the 'video' group?`,
    };
  }
  const links = await io.byIdLinks();
  const cameras: DetectedCamera[] = [];
  for (const device of devices) {
    for (const node of device.nodes.filter((n) => n.startsWith('/dev/video'))) {
      const out = await io.run(tool, ['-d', node, '--list-formats-ext']);
      const formats = out.exitCode === 0 ? parseFormats(out.stdout) : [];
      if (formats.length === 0) continue;
      const stableName = [...links.entries()].find(([, target]) => target === node)?.[0];
      cameras.push({
        card: device.card,
        bus: device.bus,
        node,
        stableName,
        formats,
        suggestion: suggestFormat(formats),
      });
    }
  }
  if (cameras.length === 0)
    return { status: 'none', message: 'V4L2 devices exist but none offers a video capture format' };
  return { status: 'ok', cameras };
}

function sizeSummary(f: PixelFormat): string {
  return f.sizes
    .map(
      (s) =>
        `${s.width}x${s.height}${s.fps.length ? `@${s.fps.map((x) => Number(x.toFixed(2))).join('/')}` : ''}${s.stepwise ? ' (range)' : ''}`,
    )
    .join(', ');
}

/** The text `detect` prints: cameras, formats, and a config to copy. */
export function renderDetect(cameras: readonly DetectedCamera[]): string {
  const lines: string[] = [];
  const taken = new Set<string>();
  const config: Record<string, unknown>[] = [];
  for (const c of cameras) {
    lines.push(`${c.card}${c.bus ? ` (${c.bus})` : ''}`);
    lines.push(
      `  device: ${c.node}${c.stableName ? `\n  stable: ${c.stableName}` : '\n  stable: (no /dev/v4l/by-id link; use /dev/v4l/by-path for cameras without a serial number)'}`,
    );
    for (const f of c.formats) {
      const ff = ffmpegInputFormat(f.fourcc);
      lines.push(
        `  ${f.fourcc}${ff ? ` (${ff})` : ''} ${f.description}${f.emulated ? ' [emulated]' : ''}: ${sizeSummary(f)}`,
      );
    }
    if (c.suggestion) {
      config.push({
        name: cameraNameOf(c.card, taken),
        source: c.stableName ?? c.node,
        inputFormat: c.suggestion.inputFormat,
        size: c.suggestion.size,
        frameRate: c.suggestion.frameRate,
        mode: c.suggestion.mode,
      });
    }
    lines.push('');
  }
  if (config.length) {
    lines.push('Suggested config (camera-archiver record --config FILE):');
    lines.push(stringify({ segmentTime: '30m', cameras: config }).trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
