// Finds the runnable `--local` examples of a Markdown document (the README): the lines of
// its fenced bash code blocks that run `npm run <script> ... --local`. The rules an example
// follows to be run:
//   - it sits in a fenced code block whose language is bash, sh or shell;
//   - it is one shell command line (a trailing backslash continues it on the next line);
//     a `#` comment after it and a `$ ` prompt before it are dropped;
//   - it is literal: no placeholder such as <cus_...> or `...`; a customer it reads was
//     created by an earlier example (e.g. `npm run trigger -- ... --customer cus_123 --local`);
//   - leading STRIPE_API_KEY=... / STRIPE_API_BASE=... assignments are dropped: the runner
//     points both at a local fake of the Stripe API.
// A `--local` npm run line that breaks a rule is reported as a problem, never skipped.

export interface Example {
  /** 1-based line of the document where the command starts. */
  readonly line: number;
  /** The command as the shell runs it. */
  readonly command: string;
}

export interface Extraction {
  readonly examples: Example[];
  /** Lines that look like local examples but cannot be run as written, with the reason. */
  readonly problems: string[];
}

const RUNNABLE_LANGUAGES = new Set(['bash', 'sh', 'shell']);
const LOCAL_NPM_RUN = /(^|[\s;&|(])npm run [\w:-]+\b.*(^|\s)--local(\s|$)/;
const PLACEHOLDER = /<[^>\s]*>|\.\.\./;
const STRIPE_ASSIGNMENT = /^\s*(?:STRIPE_API_KEY|STRIPE_API_BASE)=(?:"[^"]*"|'[^']*'|\S*)\s+/;

/** The line without its shell comment (a `#` at a word start, outside quotes). */
export function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

interface Block {
  language: string;
  /** 1-based line of the first line inside the fence. */
  start: number;
  lines: string[];
}

/** The fenced code blocks of a Markdown document (``` or ~~~, any indentation up to 3). */
export function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split(/\r?\n/);
  let open: (Block & { fence: string }) | null = null;
  lines.forEach((text, index) => {
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(text);
    if (!open) {
      if (fence) {
        open = { fence: fence[1]!, language: fence[2]!.toLowerCase(), start: index + 2, lines: [] };
      }
      return;
    }
    const closing = new RegExp(`^ {0,3}${open.fence[0]}{${open.fence.length},}\\s*$`);
    if (closing.test(text)) {
      blocks.push(open);
      open = null;
    } else {
      open.lines.push(text);
    }
  });
  return blocks;
}

/** Joins backslash continuations; keeps the line number of each command's first line. */
function commandLines(block: Block): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | null = null;
  block.lines.forEach((raw, i) => {
    const text = stripComment(raw).replace(/^\s*\$\s+/, '');
    const continued = /\\$/.test(text);
    const part = continued ? text.slice(0, -1) : text;
    pending = pending
      ? { line: pending.line, text: `${pending.text} ${part.trim()}` }
      : { line: block.start + i, text: part.trim() };
    if (!continued) {
      if (pending.text) out.push(pending);
      pending = null;
    }
  });
  if (pending) out.push(pending);
  return out;
}

export function extractLocalExamples(markdown: string): Extraction {
  const examples: Example[] = [];
  const problems: string[] = [];
  for (const block of codeBlocks(markdown)) {
    for (const { line, text } of commandLines(block)) {
      if (!LOCAL_NPM_RUN.test(text)) continue;
      if (!RUNNABLE_LANGUAGES.has(block.language)) {
        problems.push(
          `line ${line}: a --local example in a "${block.language || 'plain'}" block: use a bash block`,
        );
        continue;
      }
      let command = text;
      while (STRIPE_ASSIGNMENT.test(command)) command = command.replace(STRIPE_ASSIGNMENT, '');
      if (PLACEHOLDER.test(command)) {
        problems.push(`line ${line}: "${text}" has a placeholder: write a literal value`);
        continue;
      }
      examples.push({ line, command });
    }
  }
  return { examples, problems };
}
