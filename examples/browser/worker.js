// The demo's Web Worker: sends `count` 64-byte messages whose first four bytes are their index,
// through the Channel it is handed (blocking sends are fine in a worker), then with postMessage.
import { Channel } from '@shmkit/channel';

self.onmessage = ({ data }) => {
  const m = new Uint8Array(64);
  const v = new DataView(m.buffer);
  if (data.way === 'channel') {
    const ch = Channel.from(data.channel);
    for (let i = 0; i < data.count; i++) {
      v.setUint32(0, i, true);
      ch.send(m, { timeout: 10_000 });
    }
  } else {
    for (let i = 0; i < data.count; i++) {
      v.setUint32(0, i, true);
      self.postMessage(m);
    }
  }
};
