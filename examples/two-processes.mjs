// Two processes, one channel: this script creates a segment, starts itself again as a child
// process that sends 10,000 records through a channel in that segment, and checks that every one
// arrived, in order, with the right content. Run it with `node examples/two-processes.mjs`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Segment } from '@shmkit/segment';

const COUNT = 10_000;
const [, , role, name] = process.argv;

if (role === 'child') {
  // The producer: opens the segment its parent created and sends COUNT records.
  const seg = Segment.open(name, { timeout: 10_000 });
  const ch = seg.channel('records', { capacity: 1 << 16, codec: 'msgpack' });
  for (let i = 0; i < COUNT; i++) ch.send({ i, square: i * i, label: `record ${i}` }, { timeout: 10_000 });
  seg.close();
} else {
  const segName = `example-${process.pid}`;
  const seg = Segment.create(segName, { size: 1 << 20 });
  try {
    const ch = seg.channel('records', { capacity: 1 << 16, codec: 'msgpack' });
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'child', segName], {
      stdio: 'inherit',
    });
    let sum = 0;
    for (let i = 0; i < COUNT; i++) {
      const r = await ch.recvAsync({ timeout: 10_000 });
      if (r.i !== i || r.square !== i * i || r.label !== `record ${i}`) {
        throw new Error(`record ${i} arrived as ${JSON.stringify(r)}`);
      }
      sum += r.i;
    }
    const code = await new Promise((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the child exited with ${code}`);
    console.log(`two processes: ${COUNT} records in order, sum ${sum}`);
  } finally {
    seg.unlink();
    seg.close();
  }
}
