// The bench's output: Markdown lines, echoed to the terminal as they are written, and
// collected for BENCHMARKS.md.

export type Cell = string | number;

export class Report {
  private readonly lines: string[] = [];

  /** One line (a paragraph is lines followed by an empty one). */
  line(text = ''): void {
    console.log(text);
    this.lines.push(text);
  }

  /** Several lines of a paragraph, then the empty line that ends it. */
  paragraph(...texts: string[]): void {
    for (const t of texts) this.line(t);
    this.line();
  }

  heading(text: string, level = 2): void {
    this.line(`${'#'.repeat(level)} ${text}`);
    this.line();
  }

  table(head: readonly string[], rows: readonly (readonly Cell[])[]): void {
    this.line(`| ${head.join(' | ')} |`);
    this.line(`| ${head.map(() => '---').join(' | ')} |`);
    for (const r of rows) this.line(`| ${r.join(' | ')} |`);
    this.line();
  }

  text(): string {
    return this.lines.join('\n').replace(/\n+$/, '') + '\n';
  }
}

/** Progress for the person waiting, on stderr so it never lands in the report. */
export function progress(text: string): void {
  process.stderr.write(`  .. ${text}\n`);
}
