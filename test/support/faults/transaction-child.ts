import { createPool, inTransaction } from '../../../src/db/pool';

/**
 * A process that holds a transaction open (the dispatcher's shape: src/db/pool.ts `inTransaction`) while its test
 * cuts the connection, as a PostgreSQL crash, restart or failover does. Prints `backend <pid>` once inside the
 * transaction, then how the transaction ended and `alive` if the process outlived it.
 */
async function main(): Promise<void> {
  const db = createPool(process.env['DATABASE_URL']!);
  const outcome = await inTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    console.log(`backend ${rows[0]!.pid}`);
    await tx.query('SELECT pg_sleep(30)');
  }).then(
    () => 'committed',
    (error: unknown) => `rolled back: ${(error as Error).message}`,
  );
  console.log(`transaction ${outcome}`);
  // The pool must still serve: the next query reconnects.
  await db.query('SELECT 1');
  console.log('alive');
  await db.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(3);
});
