/**
 * cliui (yargs' help layout) for the bundle: its ES module build, whose start-up is light, with
 * a wrap that breaks lines between words. That build's own wrap cuts at a fixed column, inside
 * words ("verif/y"); its CommonJS build wraps words but loads string-width's emoji tables, a
 * quarter of `--help`'s time (BENCHMARKS.md). Help text here is plain ASCII without colours.
 */
import { cliui } from '../node_modules/cliui/build/lib/index.js';
import { stripAnsi } from '../node_modules/cliui/build/lib/string-utils.js';

/** Greedy word wrap to `width` columns; a word longer than a line is cut (cliui asks for hard wraps). */
export function wrapWords(text, width) {
  if (!(width > 0)) return text;
  return text
    .split('\n')
    .map((paragraph) => {
      const lines = [];
      let line = '';
      for (const word of paragraph.split(' ')) {
        if (line !== '' && line.length + 1 + word.length > width) {
          lines.push(line);
          line = '';
        }
        let rest = line === '' ? word : `${line} ${word}`;
        while (rest.length > width) {
          lines.push(rest.slice(0, width));
          rest = rest.slice(width);
        }
        line = rest;
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

export default function ui(opts) {
  return cliui(opts, { stringWidth: (text) => [...text].length, stripAnsi, wrap: wrapWords });
}
