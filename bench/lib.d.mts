/** Types of bench/lib.mjs for the TypeScript tests. */
export function parseMaxRssKb(report: string): number | undefined;
export function parseCpuSeconds(report: string): number | undefined;
export function parseSsim(stderr: string): number | undefined;
export function parsePsnrY(stderr: string): number | undefined;
export function median(values: readonly number[]): number;
export function ratio(value: number, baseline: number): number;
export function shellLine(argv: readonly string[]): string;
