/** Types of scripts/cliui-word-wrap.mjs for the TypeScript tests. */
export function wrapWords(text: string, width: number): string;
