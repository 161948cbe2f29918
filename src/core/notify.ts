/**
 * Webhook notifications (`--notify-url URL`, repeatable): one JSON POST per event to every URL.
 *
 * The contract that matters: a notification can never fail or hold up the work it reports on.
 * `notify()` never rejects; each attempt has a timeout, failures are retried with exponential
 * backoff (honouring Retry-After), and a total deadline bounds the whole delivery, after which it
 * is given up with a warning in the log. Permanent answers (4xx other than 408/429) are not retried.
 *
 * With a secret (`--notify-secret`), every request carries an HMAC-SHA256 signature of
 * `<timestamp>.<body>` so the receiver can check it came from us and is fresh (see verifySignature).
 *
 * `record` uses the same notifier for camera offline/online and storage-threshold events:
 *   const notifier = createNotifier(urls, secret, log);
 *   void notifier.notify({ event: 'record.camera-offline', camera: 'front', text: 'front is offline' });
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { UsageError, errorMessage } from './errors.js';
import type { Log } from './logger.js';
import { packageVersion } from './package-version.js';
import { redactDeep, registerSecret, registerUrlSecret } from './redact.js';

export const SIGNATURE_HEADER = 'x-camera-archiver-signature';
export const TIMESTAMP_HEADER = 'x-camera-archiver-timestamp';
export const EVENT_HEADER = 'x-camera-archiver-event';
export const DELIVERY_HEADER = 'x-camera-archiver-delivery';

/** An event: a dotted name (`archive.finished`, `record.camera-offline`) plus any JSON fields. */
export interface NotifyEvent {
  event: string;
  /** One human sentence; chat webhooks (Slack, Mattermost) show the `text` field as the message. */
  text?: string;
  [field: string]: unknown;
}

export interface DeliveryResult {
  url: string;
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface Notifier {
  /** Delivers to every URL in parallel; resolves when each is delivered or given up. Never rejects. */
  notify(event: NotifyEvent): Promise<DeliveryResult[]>;
  readonly urls: readonly string[];
}

export interface NotifierOptions {
  /** Per attempt. */
  timeoutMs?: number;
  /** Attempts per URL, the first one included. */
  attempts?: number;
  /** First retry delay; doubles per retry (±25% jitter). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** No attempt starts and no wait extends past this, counted from notify(). */
  totalTimeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Wall clock, for the event time and the signature timestamp. */
  clock?: () => Date;
  /** Monotonic milliseconds, for deadlines. */
  monotonic?: () => number;
  random?: () => number;
}

export const NOTIFY_DEFAULTS = {
  timeoutMs: 10_000,
  attempts: 4,
  backoffMs: 2_000,
  maxBackoffMs: 30_000,
  totalTimeoutMs: 60_000,
} as const;

/** Validates `--notify-url` values: absolute http(s) URLs. */
export function parseNotifyUrls(values: readonly string[], optionName = '--notify-url'): string[] {
  return values.map((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UsageError(`invalid ${optionName} '${redactUrl(value)}': not an absolute URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(
        `invalid ${optionName} '${redactUrl(value)}': only http:// and https:// URLs are supported`,
      );
    }
    return value;
  });
}

/**
 * A URL fit for logs: webhook URLs often carry their token in the path or query (Slack, ntfy,
 * Home Assistant), so only the origin is shown.
 */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    const more = url.pathname !== '/' || url.search !== '' ? '/…' : '/';
    return `${url.protocol}//${url.host}${more}`;
  } catch {
    return '<invalid URL>';
  }
}

export function signPayload(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers (and the tests): true when the signature matches and the timestamp is within
 * `toleranceSeconds` of `now`, which stops an old captured request from being replayed.
 */
export function verifySignature(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** 408, 425, 429 and 5xx are worth another try; other 4xx will not get better by waiting. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The delay before retry number `retry` (1-based). */
export function backoffDelay(
  retry: number,
  base: number,
  max: number,
  random: () => number,
): number {
  const exponential = base * 2 ** (retry - 1);
  return Math.round(Math.min(max, exponential * (0.75 + random() * 0.5)));
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createNotifier(
  urls: readonly string[],
  secret: string | undefined,
  log: Log,
  options: NotifierOptions = {},
): Notifier {
  return new WebhookNotifier(urls, secret, log, options);
}

/** Where one webhook request goes, and the Basic auth its URL's credentials stand for. */
interface WebhookTarget {
  url: string;
  /** The URL without credentials, for fetch (which refuses URLs that carry them). */
  target: URL;
  /** The URL as logs show it. */
  shown: string;
  auth: string | undefined;
}

/** One request's outcome; a failure says why, and whether another try could help. */
type AttemptOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      problem: string;
      status: number | undefined;
      retryable: boolean;
      retryAfter: number | undefined;
    };

/** What one event's delivery to one URL has met so far: the last problem and HTTP status. */
interface DeliveryState {
  event: NotifyEvent;
  problem: string;
  status: number | undefined;
}

function webhookTarget(url: string): WebhookTarget {
  const target = new URL(url);
  const auth =
    target.username || target.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
      : undefined;
  target.username = '';
  target.password = '';
  return { url, target, shown: redactUrl(url), auth };
}

/**
 * The webhook notifier: every event to every URL, each delivery a loop of attempts with a
 * per-attempt timeout, backoff between them, and one deadline for the whole event. Clock, sleep,
 * fetch and randomness are injectable so tests need no network and no waiting.
 */
class WebhookNotifier implements Notifier {
  private readonly o: Required<
    Pick<
      NotifierOptions,
      'timeoutMs' | 'attempts' | 'backoffMs' | 'maxBackoffMs' | 'totalTimeoutMs'
    >
  >;
  private readonly doFetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => Date;
  private readonly monotonic: () => number;
  private readonly random: () => number;

  constructor(
    readonly urls: readonly string[],
    private readonly secret: string | undefined,
    private readonly log: Log,
    options: NotifierOptions,
  ) {
    this.o = { ...NOTIFY_DEFAULTS, ...options };
    // Nothing we send or log may carry the secret or a URL's password.
    registerSecret(secret);
    for (const url of urls) registerUrlSecret(url);
    this.doFetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? realSleep;
    this.clock = options.clock ?? (() => new Date());
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  async notify(event: NotifyEvent): Promise<DeliveryResult[]> {
    const { urls } = this;
    if (urls.length === 0) return [];
    try {
      const payload = {
        ...event,
        source: 'camera-archiver',
        version: packageVersion(),
        host: os.hostname(),
        time: this.clock().toISOString(),
      };
      // Events carry error texts (ffmpeg's, with its input URL): redacted like every sink.
      const body = JSON.stringify(redactDeep(payload));
      const id = randomUUID();
      const deadline = this.monotonic() + this.o.totalTimeoutMs;
      return await Promise.all(urls.map((url) => this.deliver(url, event, body, id, deadline)));
    } catch (error) {
      // Belt and braces: a bug here must still not fail the run that wanted to report.
      this.log.warn(`notification ${event.event} not sent: ${errorMessage(error)}`);
      return urls.map((url) => ({ url, ok: false, attempts: 0, error: errorMessage(error) }));
    }
  }

  /**
   * Attempts until delivered, a permanent failure, the attempt limit, or the deadline (no attempt
   * starts after it, and no wait would end past it).
   */
  private async deliver(
    url: string,
    event: NotifyEvent,
    body: string,
    id: string,
    deadline: number,
  ): Promise<DeliveryResult> {
    const to = webhookTarget(url);
    const state: DeliveryState = { event, problem: 'not attempted', status: undefined };
    for (let attempt = 1; ; attempt++) {
      const left = deadline - this.monotonic();
      if (left <= 0) return this.giveUp(to, state, 'given up', attempt - 1);
      const outcome = await this.attempt(to, event, body, id, left);
      if (outcome.ok) {
        this.log.verbose(
          `notification ${event.event} delivered to ${to.shown} (HTTP ${outcome.status})`,
        );
        return { url, ok: true, attempts: attempt, status: outcome.status };
      }
      state.problem = outcome.problem;
      // A later attempt without an answer (a timeout) keeps the last HTTP status seen.
      state.status = outcome.status ?? state.status;
      if (!outcome.retryable || attempt >= this.o.attempts)
        return this.giveUp(to, state, 'failed', attempt);
      const delay = this.retryDelay(attempt, outcome.retryAfter);
      if (this.monotonic() + delay >= deadline) return this.giveUp(to, state, 'given up', attempt);
      this.log.debug(
        `notification ${event.event} to ${to.shown}: ${state.problem}; retrying in ${(delay / 1000).toFixed(1)}s`,
      );
      await this.sleep(delay);
    }
  }

  /** Retry-After when the server sent one, else exponential backoff; never above the cap. */
  private retryDelay(attempt: number, retryAfter: number | undefined): number {
    return Math.min(
      this.o.maxBackoffMs,
      retryAfter ?? backoffDelay(attempt, this.o.backoffMs, this.o.maxBackoffMs, this.random),
    );
  }

  /** The warning that says a notification was not delivered, and the result that records it. */
  private giveUp(
    to: WebhookTarget,
    state: DeliveryState,
    how: 'given up' | 'failed',
    attempts: number,
  ): DeliveryResult {
    this.log.warn(
      `notification ${state.event.event} to ${to.shown} ${how} after ${attempts} attempt(s): ${state.problem}`,
    );
    return {
      url: to.url,
      ok: false,
      attempts,
      ...(state.status ? { status: state.status } : {}),
      error: state.problem,
    };
  }

  /** One POST, bounded by the attempt timeout and the time left before the deadline. */
  private async attempt(
    to: WebhookTarget,
    event: NotifyEvent,
    body: string,
    id: string,
    left: number,
  ): Promise<AttemptOutcome> {
    const headers = this.headers(to, event, body, id);
    const controller = new AbortController();
    const timeout = Math.min(this.o.timeoutMs, left);
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      const res = await this.doFetch(to.target, {
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
        redirect: 'manual',
      });
      // The answer's body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status };
      return this.refused(res);
    } catch (error) {
      const problem = controller.signal.aborted
        ? `no answer within ${(timeout / 1000).toFixed(1)}s`
        : errorMessage((error as { cause?: unknown }).cause ?? error);
      return { ok: false, problem, status: undefined, retryable: true, retryAfter: undefined };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A non-2xx answer. A redirect is not followed (fetch runs with redirect: 'manual'): the user
   * is told the URL to use instead, and it is not retried, as waiting will not change it.
   */
  private refused(res: Response): AttemptOutcome {
    let problem = `HTTP ${res.status}`;
    let retryable: boolean;
    if (res.status >= 300 && res.status < 400) {
      problem += ` redirect to ${redactUrl(res.headers.get('location') ?? '')}: use that URL`;
      retryable = false;
    } else retryable = isRetryableStatus(res.status);
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'), this.clock());
    return { ok: false, problem, status: res.status, retryable, retryAfter };
  }

  /** Headers of one attempt; the signature is made fresh each time, with its timestamp. */
  private headers(
    to: WebhookTarget,
    event: NotifyEvent,
    body: string,
    id: string,
  ): Record<string, string> {
    const timestamp = String(Math.floor(this.clock().getTime() / 1000));
    return {
      'content-type': 'application/json',
      'user-agent': `camera-archiver/${packageVersion()}`,
      [EVENT_HEADER]: event.event,
      [DELIVERY_HEADER]: id,
      ...(to.auth ? { authorization: to.auth } : {}),
      ...(this.secret
        ? {
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: signPayload(this.secret, timestamp, body),
          }
        : {}),
    };
  }
}
