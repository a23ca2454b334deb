/**
 * The fault suite (`npm run faults`): each fault on real nats-servers on 127.0.0.1, bounded in time
 * and in counts, one line per fault with its figures, then "N passed, N failed". Outcomes are
 * asserted on counts (lost = 0, error texts, no crash); timings are figures only.
 *
 *   node out-faults/test/faults/run.js [--quick] [--only 1,4]   (--only 4 includes 4b)
 *
 * --quick runs the faults that take under 3 minutes together (scripts/test.sh's faults layer).
 * Everything a fault starts (nats-servers, node processes, connections, temp folders) is stopped
 * when it ends, also when it fails or runs out of time, and once more when the runner exits.
 */
import { FAULTS } from './faults';
import { FaultResult, killEverything, Scope } from './support';

interface Args {
  quick: boolean;
  only?: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: argv.includes('--quick') };
  const only = argv.indexOf('--only');
  if (only >= 0 && argv[only + 1]) {
    args.only = argv[only + 1].split(',');
  }
  return args;
}

/** Whole-suite bound: the issue asks for everything within 15 minutes. */
const SUITE_LIMIT_MS = 15 * 60 * 1000;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // `--only 4` runs fault 4 with its parts (4b); `--only 4b` runs that part alone.
  const faults = FAULTS.filter((f) => (args.only ? args.only.includes(f.id) || args.only.includes(f.id.replace(/[a-z]+$/, '')) : !args.quick || f.quick));
  const suiteStarted = Date.now();
  const uncaught: string[] = [];
  process.on('uncaughtException', (e) => uncaught.push(`uncaught exception: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => uncaught.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
  let passed = 0;
  let failed = 0;
  console.log(`fault suite: ${faults.length} faults on ${require('os').cpus().length} cores, Node ${process.version}`);
  for (const fault of faults) {
    const scope = new Scope();
    const started = Date.now();
    const left = SUITE_LIMIT_MS - (started - suiteStarted);
    const limit = Math.min(fault.limitMs, left);
    let result: FaultResult;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const before = uncaught.length;
    try {
      result = await Promise.race([
        fault.run(scope),
        new Promise<FaultResult>((resolve) => (timer = setTimeout(() => resolve({ ok: false, figures: `did not finish within its bound of ${Math.round(limit / 1000)} s` }), limit))),
      ]);
    } catch (e) {
      result = { ok: false, figures: `threw: ${(e as Error).stack ?? String(e)}` };
    } finally {
      clearTimeout(timer);
      await scope.close();
    }
    if (uncaught.length > before) {
      result = { ...result, ok: false, problems: [...(result.problems ?? []), ...uncaught.slice(before)] };
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${fault.id}. ${fault.name}: ${result.figures} (${seconds} s)`);
    for (const problem of result.problems ?? []) {
      console.log(`       ${problem}`);
    }
    if (result.ok) passed++;
    else failed++;
  }
  console.log(`${passed} passed, ${failed} failed (${((Date.now() - suiteStarted) / 1000).toFixed(1)} s)`);
  return failed === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killEverything();
    process.exit(130);
  });
}

main()
  .catch((e: Error) => {
    console.error(e.stack ?? e.message);
    return 1;
  })
  .then((code) => {
    killEverything();
    // Connections or timers a fault could not close must not keep the runner alive.
    process.exit(code);
  });
