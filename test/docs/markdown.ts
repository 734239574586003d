/**
 * The code blocks of a Markdown document, and what the doc test does with each (the rule is
 * stated in docs.test.ts).
 */

export interface CodeBlock {
  /** First word of the info string, lower-cased ('' when none). */
  readonly lang: string;
  /** The whole info string. */
  readonly info: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** Fenced blocks (``` or ~~~, three or more, at most three spaces of indent) in document order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = open[1] ?? '```';
    const info = (open[2] ?? '').trim();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(l)) break;
      body.push(l);
    }
    blocks.push({
      lang: (info.split(/\s+/)[0] ?? '').toLowerCase(),
      info,
      code: body.join('\n'),
      line: i + 1,
    });
    i = j;
  }
  return blocks;
}

export type Kind = 'js' | 'ts' | 'sh';

const KINDS: Record<string, Kind> = {
  js: 'js',
  mjs: 'js',
  javascript: 'js',
  ts: 'ts',
  typescript: 'ts',
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
};

/** How the doc test treats a block: run it as `js`/`ts`/`sh`, or not at all (undefined). */
export function kindOf(b: CodeBlock): Kind | undefined {
  if (/(^|\s)fragment(\s|$)/.test(b.info)) return undefined;
  return KINDS[b.lang];
}

/** A file header line: `// name.mjs` (js/ts blocks) naming the file the lines below belong to. */
const FILE_HEADER = /^\/\/ ([\w.-]+\.(?:m?js|ts))\s*$/;

/**
 * The files a js/ts block defines: when its first line is a file header, the block is split at
 * every file header into named files; otherwise it defines none (and is run as a script).
 */
export function namedFiles(code: string): { name: string; code: string }[] {
  const lines = code.split('\n');
  if (!FILE_HEADER.test(lines[0] ?? '')) return [];
  const files: { name: string; code: string }[] = [];
  for (const l of lines) {
    const h = FILE_HEADER.exec(l);
    if (h !== null) files.push({ name: h[1] ?? '', code: '' });
    else {
      const f = files.at(-1);
      if (f !== undefined) f.code += `${l}\n`;
    }
  }
  return files;
}
