// A small web server for shmkit pages: bundles their scripts with esbuild (browser platform, so
// the packages' `browser` conditions apply and nothing from `node:` can slip in) and serves them
// with the two headers that make a page cross-origin isolated, which browsers require before they
// hand out SharedArrayBuffer:
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
//
//   node examples/browser/serve.mjs [port]   serves this folder's demo at http://127.0.0.1:<port>/
//
// The browser tests (test/browser/) use serve() for their own pages too.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css',
};

/**
 * Bundles `scripts` (file names in `dir`, each a separate ES module bundle served under its own
 * name) and serves them and the other files of `dir` on 127.0.0.1. Resolves with the base URL
 * and a close function.
 */
export async function serve({ dir, scripts, port = 0 }) {
  const result = await build({
    entryPoints: scripts.map((s) => path.join(dir, s)),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: '/bundles',
    outbase: dir,
    write: false,
    logLevel: 'silent',
  });
  const bundles = new Map(
    result.outputFiles.map((f) => [`/${path.relative('/bundles', f.path)}`, f.contents]),
  );
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const name = url.pathname === '/' ? '/index.html' : url.pathname;
    let body = bundles.get(name);
    if (body === undefined) {
      const file = path.join(dir, path.normalize(name));
      if (!file.startsWith(dir) || name.endsWith('.mjs')) body = undefined;
      else body = await readFile(file).catch(() => undefined);
    }
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(name)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address();
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the browser keeps connections open
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  const { url } = await serve({
    dir,
    scripts: ['main.js', 'worker.js'],
    port: Number(process.argv[2] ?? 8080),
  });
  console.log(`shmkit browser demo: ${url} (Ctrl-C stops)`);
}
