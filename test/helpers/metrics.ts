/** Reading one sample out of a metrics file's text, for the tests that check what was written. */
import { parseMetricsText } from '../../src/core/metrics.js';

/** The value of the sample named `name` whose labels include `labels`, if there is one. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return parseMetricsText(text).samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}
