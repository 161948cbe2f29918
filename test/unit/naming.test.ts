import { describe, expect, it } from 'vitest';
import {
  partialNameFor,
  alternateArchiveName,
  collisionTag,
  MediaNameReader,
  mediaKindOf,
  archivePathFor,
  dayPathOfStamp,
  isDayFolder,
  isPartialName,
  numberedName,
  parseClipName,
  parseLegacyArchiveName,
  parseStamp,
  partialPathFor,
  stampToDate,
  utcStampToLocal,
} from '../../src/tree/naming.js';

describe('parseClipName', () => {
  it('reads Reolink clips and thumbnails, keeping the camera', () => {
    expect(parseClipName('REO_front_20250115120000.mp4')).toEqual({
      stem: 'REO_front_20250115120000',
      camera: 'REO_front',
      stamp: '20250115120000',
      kind: 'clip',
    });
    expect(parseClipName('REO_front_20250115120000.JPG')?.kind).toBe('thumbnail');
  });

  it('accepts other brands and the recorder’s own segments', () => {
    expect(parseClipName('Hikvision Door_20250115120000.MP4')?.camera).toBe('Hikvision Door');
    expect(parseClipName('demo_20250115120000.mp4')?.camera).toBe('demo');
  });

  it('rejects names without a real 14-digit date-time', () => {
    for (const bad of [
      'REO_front_20250230120000.mp4', // 30 February
      'REO_front_20250115250000.mp4', // hour 25
      'REO_front_19991231235959.mp4', // before 2000
      'REO_front_2025011512000.mp4', // 13 digits
      '_20250115120000.mp4', // no camera
      'REO_front_20250115120000.mkv',
      'archived-20250115120000.mp4',
    ]) {
      expect(parseClipName(bad), bad).toBeUndefined();
    }
  });

  it('knows 29 February only in leap years', () => {
    expect(parseStamp('20240229120000')).toBeDefined();
    expect(parseStamp('20250229120000')).toBeUndefined();
  });
});

describe('MediaNameReader', () => {
  it('answers as mediaKindOf does, also when a known date is followed by bad ones', () => {
    const names = [
      'REO_a_20250115120000.jpg',
      'REO_a_20250115120000.mp4',
      'REO_a_20250115246000.mp4', // hour 24 on a known date
      'REO_a_20250115126000.mp4', // minute 60
      'REO_a_20250115120060.jpg', // second 60
      'REO_a_2025011512000x.mp4',
      'REO_a_20250230120000.mp4', // 30 February after a valid day
      'REO_a_20240229120000.mp4', // a real 29 February
      'REO_a_20250229120000.mp4', // not a leap year
      'REO_a_20250115120000.MP4',
      'REO_a_20250115120000.mp3',
      'line\nbreak_20250115120000.mp4',
      '_20250115120000.mp4',
      'x_20250115120000.jpg',
    ];
    const reader = new MediaNameReader();
    expect(names.map((n) => reader.kindOf(n))).toEqual(names.map((n) => mediaKindOf(n)));
    expect(names.map((n) => mediaKindOf(n))).toEqual([
      'thumbnail',
      'clip',
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'clip',
      undefined,
      'clip',
      undefined,
      undefined,
      undefined,
      'thumbnail',
    ]);
  });

  it('reads the instant the local-time constructor gives, on DST days and across dates', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      const reader = new MediaNameReader();
      for (const stamp of [
        '20250115120000',
        '20250115235959',
        '20250330015959', // the last second before the spring gap
        '20250330023000', // inside the gap: moved forward, like Date
        '20250330030000',
        '20251026023000', // the repeated autumn hour
        '20251026120000',
        '20250115000000', // back to a date seen before
      ]) {
        expect(reader.kindOf(`REO_a_${stamp}.mp4`), stamp).toBe('clip');
        const s = parseStamp(stamp);
        if (!s) throw new Error(stamp);
        expect(reader.timeMs, stamp).toBe(stampToDate(s).getTime());
        expect(reader.date, stamp).toBe(Number(stamp.slice(0, 8)));
      }
    } finally {
      process.env.TZ = tz;
    }
  });
});

describe('archive names', () => {
  it('keep camera and timestamp, so two cameras in one second never share an archive', () => {
    const front = parseClipName('REO_front_20250115120000.mp4');
    const back = parseClipName('REO_back_20250115120000.mp4');
    if (!front || !back) throw new Error('parse');
    expect(archivePathFor('/a', front)).toBe('/a/2025/01/15/REO_front_20250115120000.mp4');
    expect(archivePathFor('/a', back)).not.toBe(archivePathFor('/a', front));
  });

  it('temporary output is hidden and never ends in .mp4', () => {
    const partial = partialPathFor('/a/2025/01/15/REO_front_20250115120000.mp4');
    expect(partial).toBe('/a/2025/01/15/.REO_front_20250115120000.mp4.partial');
    expect(partial.endsWith('.mp4')).toBe(false);
    expect(isPartialName('.REO_front_20250115120000.mp4.partial')).toBe(true);
    expect(parseClipName('.REO_front_20250115120000.mp4.partial')).toBeUndefined();
    expect(parseLegacyArchiveName('.REO_front_20250115120000.mp4.partial')).toBeUndefined();
  });

  it('recognises the Python archiver’s archived-<stamp>.mp4', () => {
    expect(parseLegacyArchiveName('archived-20250115120000.mp4')).toBe('20250115120000');
    expect(parseLegacyArchiveName('archived-20251315120000.mp4')).toBeUndefined();
  });

  it('numbers clashing names keeping stem and extension', () => {
    expect(numberedName('REO_front_20250115120000.mp4', 2)).toBe('REO_front_20250115120000.2.mp4');
  });
});

describe('dates', () => {
  it('converts the recorder’s UTC stamps to local wall-clock stamps', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      expect(utcStampToLocal('20250115120000')).toBe('20250115130000');
      expect(utcStampToLocal('20240630230000')).toBe('20240701010000');
      expect(utcStampToLocal('20241027003000')).toBe(utcStampToLocal('20241027013000'));
      expect(utcStampToLocal('20241027013000', 1)).toBe('20241027023001');
    } finally {
      process.env.TZ = tz;
    }
  });

  it('day path comes from the digits, not from a time zone', () => {
    expect(dayPathOfStamp('20250115235959')).toBe('2025/01/15');
  });

  it('stamps are local wall-clock time', () => {
    const d = stampToDate({ year: 2025, month: 1, day: 15, hour: 12, minute: 0, second: 0 });
    expect(d.getHours()).toBe(12);
    expect(d.getDate()).toBe(15);
  });

  it('day folders are the last three parts of a path and must be a real date', () => {
    expect(isDayFolder(['2025', '01', '15'])).toBe(true);
    expect(isDayFolder(['front', '2025', '01', '15'])).toBe(true);
    expect(isDayFolder(['2025', '02', '30'])).toBe(false);
    expect(isDayFolder(['2025', '1', '15'])).toBe(false);
    expect(isDayFolder(['01', '15'])).toBe(false);
  });
});

describe('temporary and alternate archive names', () => {
  it('a temporary name fits NAME_MAX: readable when it can be, hashed when not', () => {
    expect(partialNameFor('REO_front_20250115120000.mp4')).toBe(
      '.REO_front_20250115120000.mp4.partial',
    );
    const long = `${'x'.repeat(236)}_20250115120000.mp4`;
    expect(Buffer.byteLength(long)).toBe(255);
    const partial = partialNameFor(long);
    expect(partial).toMatch(/^\.[0-9a-f]{32}\.partial$/);
    expect(partial).toBe(partialNameFor(long));
    expect(partialNameFor(`y${long.slice(1)}`)).not.toBe(partial);
  });

  it('an alternate name keeps the stamp last and fits NAME_MAX', () => {
    const clip = { camera: 'REO_front', stamp: '20250115120000' };
    expect(alternateArchiveName(clip, 'abcd1234')).toBe('REO_front~abcd1234_20250115120000.mp4');
    expect(alternateArchiveName(clip, 'abcd1234', 2)).toBe(
      'REO_front~abcd1234-2_20250115120000.mp4',
    );
    const long = alternateArchiveName({ ...clip, camera: 'é'.repeat(200) }, 'abcd1234');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(255);
    expect(mediaKindOf(long)).toBe('clip');
    expect(collisionTag('a/b.mp4')).toMatch(/^[0-9a-f]{8}$/);
  });
});
