import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cameraNameOf,
  detectCameras,
  parseFormats,
  parseListDevices,
  renderDetect,
  suggestFormat,
  type DetectIo,
} from '../../src/record/v4l2.js';

// Text in the layout of v4l-utils 1.22 (the note's §4); no V4L2 device exists on CI to capture from.
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/v4l2');
const fixture = (name: string): string => readFileSync(path.join(dir, name), 'utf8');

describe('v4l2-ctl --list-devices parser', () => {
  it('reads cards, bus info (also with parentheses or colons in the card name) and nodes', () => {
    const devices = parseListDevices(fixture('list-devices.txt'));
    expect(devices.map((d) => d.card)).toEqual([
      'HD Pro Webcam C920',
      'Integrated Camera: Integrated C',
      'bcm2835-codec-decode',
    ]);
    expect(devices[0]).toEqual({
      card: 'HD Pro Webcam C920',
      bus: 'usb-0000:00:14.0-1',
      nodes: ['/dev/video0', '/dev/video1', '/dev/media0'],
    });
    expect(devices[2]?.bus).toBe('platform:bcm2835-codec');
  });

  it('ignores error lines and empty output', () => {
    expect(parseListDevices('')).toEqual([]);
    expect(parseListDevices('Cannot open device /dev/video0, exiting.\n')).toEqual([]);
  });
});

describe('v4l2-ctl --list-formats-ext parser', () => {
  it('reads formats, discrete sizes and frame rates (highest first)', () => {
    const formats = parseFormats(fixture('c920-formats.txt'));
    expect(formats.map((f) => [f.fourcc, f.compressed])).toEqual([
      ['YUYV', false],
      ['MJPG', true],
      ['H264', true],
    ]);
    expect(formats[0]?.sizes[0]).toEqual({ width: 640, height: 480, fps: [30, 24, 15] });
    expect(formats[1]?.sizes[1]).toEqual({ width: 1920, height: 1080, fps: [30, 15] });
  });

  it('reads stepwise sizes and intervals and marks emulated formats', () => {
    const formats = parseFormats(fixture('integrated-formats.txt'));
    const rgb = formats.find((f) => f.fourcc === 'RGB3');
    expect(rgb?.emulated).toBe(true);
    expect(rgb?.sizes[0]).toEqual({ width: 1280, height: 720, fps: [30], stepwise: true });
  });

  it('a UVC metadata node has no capture formats', () => {
    expect(parseFormats(fixture('metadata-node-formats.txt'))).toEqual([]);
  });

  it('suggests H.264 copy over MJPEG, and MJPEG over raw, at the largest size with ≥ 15 fps', () => {
    expect(suggestFormat(parseFormats(fixture('c920-formats.txt')))).toEqual({
      inputFormat: 'h264',
      size: '1920x1080',
      frameRate: 30,
      mode: 'copy',
    });
    expect(suggestFormat(parseFormats(fixture('integrated-formats.txt')))).toEqual({
      inputFormat: 'mjpeg',
      size: '1280x720',
      frameRate: 30,
      mode: 'encode',
    });
  });

  it('makes unique camera names from card names', () => {
    const taken = new Set<string>();
    expect(cameraNameOf('HD Pro Webcam C920', taken)).toBe('hd-pro-webcam-c920');
    expect(cameraNameOf('HD Pro Webcam C920', taken)).toBe('hd-pro-webcam-c920-2');
    expect(cameraNameOf('!!!', taken)).toBe('camera');
  });
});

function fakeIo(overrides: Partial<DetectIo> = {}): DetectIo {
  return {
    findV4l2Ctl: () => '/usr/bin/v4l2-ctl',
    run: async (_bin, args) => {
      if (args[0] === '--list-devices')
        return { exitCode: 0, stdout: fixture('list-devices.txt'), stderr: '' };
      const dev = args[1];
      const text =
        dev === '/dev/video0'
          ? fixture('c920-formats.txt')
          : dev === '/dev/video2'
            ? fixture('integrated-formats.txt')
            : fixture('metadata-node-formats.txt');
      return { exitCode: 0, stdout: text, stderr: '' };
    },
    byIdLinks: async () =>
      new Map([['/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC123-video-index0', '/dev/video0']]),
    videoNodes: async () => ['/dev/video0', '/dev/video1', '/dev/video2', '/dev/video3'],
    ...overrides,
  };
}

describe('detect', () => {
  it('skips metadata nodes, names by-id links and prints a config that record accepts', async () => {
    const result = await detectCameras(fakeIo());
    expect(result.status).toBe('ok');
    if (result.status !== 'ok') return;
    expect(result.cameras.map((c) => c.node)).toEqual(['/dev/video0', '/dev/video2']);
    expect(result.cameras[0]?.stableName).toBe(
      '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC123-video-index0',
    );
    const text = renderDetect(result.cameras);
    expect(text).toContain('MJPG (mjpeg) Motion-JPEG: 640x480@30, 1920x1080@30/15');
    expect(text).toContain(
      'source: /dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC123-video-index0',
    );
    expect(text).toContain('name: integrated-camera-integrated-c');
  });

  it('says clearly when v4l2-ctl is missing, and whether devices exist', async () => {
    const r = await detectCameras(
      fakeIo({ findV4l2Ctl: () => undefined, videoNodes: async () => [] }),
    );
    expect(r.status).toBe('no-tool');
    if (r.status === 'no-tool') {
      expect(r.message).toContain('apt-get install v4l-utils');
      expect(r.message).toContain('No /dev/video* devices exist');
    }
  });

  it('says clearly when no camera is plugged in', async () => {
    const r = await detectCameras(
      fakeIo({
        run: async () => ({ exitCode: 1, stdout: '', stderr: '' }),
        videoNodes: async () => [],
      }),
    );
    expect(r).toMatchObject({ status: 'none' });
    if (r.status === 'none') expect(r.message).toContain('no V4L2 cameras found');
  });
});
