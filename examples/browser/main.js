// The demo page: runs the worker's two senders one after the other and shows, live, how many
// messages arrived, whether each arrived in order, and the rate. The page's main thread may not
// block (browsers refuse Atomics.wait there), so it drains the channel with tryRecv and awaits
// recvAsync (Atomics.waitAsync) when it is empty.
import { Channel } from '@shmkit/channel';

const COUNT = 200_000;
const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

function show(way, received, inOrder, started) {
  $(`${way}-count`).textContent = received.toLocaleString('en');
  $(`${way}-ok`).textContent = inOrder ? `${received === COUNT ? 'all' : 'so far'} in order` : 'OUT OF ORDER';
  $(`${way}-rate`).textContent = Math.round(received / ((performance.now() - started) / 1000)).toLocaleString(
    'en',
  );
}

async function viaChannel() {
  const ch = new Channel({ capacity: 1 << 20 });
  const started = performance.now();
  worker.postMessage({ way: 'channel', channel: ch.handle, count: COUNT });
  let received = 0;
  let inOrder = true;
  let last = performance.now();
  while (received < COUNT) {
    let m = ch.tryRecv();
    if (m === undefined) m = await ch.recvAsync({ timeout: 10_000 });
    if (new DataView(m.buffer, m.byteOffset).getUint32(0, true) !== received) inOrder = false;
    received++;
    if (performance.now() - last > 50) {
      show('channel', received, inOrder, started);
      last = performance.now();
      await new Promise((r) => setTimeout(r, 0)); // let the page paint
    }
  }
  show('channel', received, inOrder, started);
  return inOrder;
}

function viaPostMessage() {
  return new Promise((resolve) => {
    const started = performance.now();
    let received = 0;
    let inOrder = true;
    let last = started;
    worker.onmessage = ({ data }) => {
      if (new DataView(data.buffer).getUint32(0, true) !== received) inOrder = false;
      received++;
      if (received === COUNT || performance.now() - last > 50) {
        show('post', received, inOrder, started);
        last = performance.now();
      }
      if (received === COUNT) {
        worker.onmessage = null;
        resolve(inOrder);
      }
    };
    worker.postMessage({ way: 'post', count: COUNT });
  });
}

async function runBoth() {
  $('again').disabled = true;
  $('status').textContent = 'running…';
  try {
    const a = await viaChannel();
    const b = await viaPostMessage();
    $('status').textContent =
      a && b ? `done: ${COUNT.toLocaleString('en')} messages each way, all in order` : 'done, with errors';
  } catch (e) {
    $('status').textContent = `failed: ${e.code ?? ''} ${e.message}`;
  }
  $('again').disabled = false;
}

$('again').onclick = runBoth;
if (!crossOriginIsolated) {
  $('status').textContent =
    'This page is not cross-origin isolated, so the browser gives it no SharedArrayBuffer: serve it with `node examples/browser/serve.mjs`.';
} else {
  runBoth();
}
