import { benchTurns } from './turns';

/**
 * `npm run bench`: every figure is taken in this one run, next to its baseline, and printed as a ratio; nothing
 * here asserts on time. Sized for a 2-core machine.
 */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const want = (name: string) => only.length === 0 || only.includes(name);
  if (want('turns')) {
    console.log('Turns: 10 conversations in flight');
    await benchTurns(2_000);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
