// Types of serve.mjs, for the TypeScript tests that use it.
export function serve(o: { dir: string; scripts: string[]; port?: number }): Promise<{
  url: string;
  close: () => Promise<void>;
}>;
