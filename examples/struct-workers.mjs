// Typed shared structs between threads: a worker pool updates per-symbol statistics in place (no
// messages), and reports trades to the main thread through a Channel with a struct codec.
// Run: node examples/struct-workers.mjs (after `pnpm install`, which builds the packages).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Channel } from '@shmkit/channel';
import { struct } from '@shmkit/struct';

// The same definition in every thread gives the same layout (checked by its layout hash).
const Stats = struct({ symbol: 'utf8:8', trades: 'u32', volume: 'i64', last: 'f64' }, { name: 'Stats' });
const Trade = struct({ worker: 'u8', symbol: 'utf8:8', qty: 'i32', price: 'f64' }, { name: 'Trade' });
const SYMBOLS = ['ACME', 'GLOBEX', 'INITECH', 'HOOLI'];
const WORKERS = 2;
const TRADES = 50_000;

if (isMainThread) {
  const stats = Stats.alloc(SYMBOLS.length); // over a SharedArrayBuffer
  SYMBOLS.forEach((s, i) => {
    stats.at(i).symbol = s;
  });
  const trades = new Channel({ codec: Trade.codec, producers: 'many', capacity: 1 << 16 });
  const workers = Array.from(
    { length: WORKERS },
    (_, w) =>
      new Worker(new URL(import.meta.url), { workerData: { w, stats: stats.handle, trades: trades.handle } }),
  );
  let big = 0;
  for (let i = 0; i < WORKERS * TRADES; i++) {
    const t = trades.recv({ timeout: 10_000 });
    if (t.qty >= 99) big++;
  }
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  for (const s of stats)
    console.log(s.symbol.padEnd(8), 'trades', s.trades, 'volume', s.volume, 'last', s.last);
  const total = [...stats].reduce((n, s) => n + s.trades, 0);
  console.log(`${total} trades counted in shared memory, ${big} big ones seen through the channel`);
  if (total !== WORKERS * TRADES) throw new Error('lost an update');
} else {
  const { w } = workerData;
  const stats = Stats.from(workerData.stats);
  const trades = Channel.from(workerData.trades, { codec: Trade.codec });
  for (let i = 0; i < TRADES; i++) {
    const k = (i * 7 + w) % SYMBOLS.length;
    const s = stats.at(k);
    const qty = 1 + (i % 100);
    const price = 100 + (i % 50) / 4;
    Stats.atomic.add(s, 'trades', 1); // exact under contention
    Stats.atomic.add(s, 'volume', BigInt(qty));
    s.last = price; // a plain store: the latest writer wins
    trades.send({ worker: w, symbol: SYMBOLS[k], qty, price });
  }
  parentPort?.close();
}
