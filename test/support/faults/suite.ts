import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaseResult } from './auditor';
import { ALL_CASES } from './cases';
import { type FaultCase, FULL_SIZES, SHORT_SIZES } from './cases/case';
import { seededRandom } from './driver';
import { Infra, type Log } from './topology';

export interface SuiteOptions {
  short: boolean;
  seed: number;
  /** Case ids to run; all when empty. */
  only?: string[];
  log: Log;
  /** Keep the run's directory (data, every process's log) even when nothing failed. */
  keep?: boolean;
}

export interface SuiteRun {
  results: CaseResult[];
  markdown: string;
  /** Where the data and the processes' logs are (removed when everything passed, unless kept). */
  dir: string;
  kept: boolean;
  passed: boolean;
}

/** Whether a case met the target: nothing lost, duplicated or stranded, everyone as expected, no other problem. */
function casePassed(result: CaseResult): boolean {
  return (
    result.lost === 0 && result.duplicated === 0 && result.stranded === 0 && result.unexpected === 0 && result.crashes === 0 && result.problems.length === 0
  );
}

/** Starts the shared servers once, runs the cases one after another, renders the table. */
export async function runFaultSuite(options: SuiteOptions): Promise<SuiteRun> {
  const cases: FaultCase[] = options.only?.length ? ALL_CASES.filter((c) => options.only!.includes(c.id)) : ALL_CASES;
  if (cases.length === 0) throw new Error(`no such case: ${options.only?.join(', ')} (cases: ${ALL_CASES.map((c) => c.id).join(', ')})`);
  const dir = await mkdtemp(join(tmpdir(), 'vip-router-faults-'));
  const started = Date.now();
  const infra = await Infra.start(dir, options.log);
  const ctx = { infra, sizes: options.short ? SHORT_SIZES : FULL_SIZES, random: seededRandom(options.seed), log: options.log };
  const results: CaseResult[] = [];
  try {
    for (const faultCase of cases) {
      options.log(`case ${faultCase.id}: ${faultCase.title}`);
      const result = await faultCase.run(ctx);
      results.push(result);
      options.log(
        `case ${faultCase.id}: ${result.started} started, ${result.lost} lost, ${result.duplicated} duplicated, ${result.stranded} stranded, ` +
          `${result.unexpected} not as expected, ${result.problems.length} problems, ${(result.durationMs / 1000).toFixed(0)} s`,
      );
      for (const problem of result.problems.slice(0, 10)) options.log(`  ${problem}`);
    }
  } finally {
    await infra.stop();
  }
  const passed = results.every(casePassed);
  const markdown = renderReport(results, {
    mode: options.short ? 'short' : 'full',
    seed: options.seed,
    totalMs: Date.now() - started,
  });
  const kept = options.keep === true || !passed;
  if (!kept) await rm(dir, { recursive: true, force: true });
  return { results, markdown, dir, kept, passed };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

function renderReport(results: CaseResult[], meta: { mode: string; seed: number; totalMs: number }): string {
  const header = ['case', 'started', 'assigned', 'queued', 'escalated', 'closed', '**lost**', '**duplicated**', '**stranded**', 'not as expected', 'crashes', 'duration'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...results.map((r) =>
      `| ${[r.name, r.started, r.assigned, r.queued, r.escalated, r.closed, r.lost, r.duplicated, r.stranded, r.unexpected, r.crashes, seconds(r.durationMs)].join(' | ')} |`,
    ),
  ];
  const total = (key: 'started' | 'assigned' | 'queued' | 'escalated' | 'closed' | 'lost' | 'duplicated' | 'stranded' | 'unexpected' | 'crashes') =>
    results.reduce((sum, r) => sum + r[key], 0);
  lines.push(
    `| **all** | ${total('started')} | ${total('assigned')} | ${total('queued')} | ${total('escalated')} | ${total('closed')} | ${total('lost')} | ${total('duplicated')} | ${total('stranded')} | ${total('unexpected')} | ${total('crashes')} | ${seconds(meta.totalMs)} |`,
  );
  const out = [`Fault suite (${meta.mode}, seed ${meta.seed}), ${new Date().toISOString().slice(0, 10)}:`, '', ...lines, ''];
  for (const r of results) {
    out.push(`- **${r.name}**: ${r.notes.join('; ')}`);
    for (const problem of r.problems.slice(0, 25)) out.push(`  - PROBLEM ${problem}`);
    if (r.problems.length > 25) out.push(`  - … and ${r.problems.length - 25} more problems`);
  }
  return `${out.join('\n')}\n`;
}
