// Bench-only wasm modules (candidates, probes) from wasm-kernels/build/: read from disk
// in Node, fetched in the browser benchmark page (callers pass literal URLs so that Vite
// copies each file).
export async function compileBenchWasm(url: URL): Promise<WebAssembly.Module> {
  if (url.protocol === "file:") {
    const fsName = "node:fs/promises";
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import("node:fs/promises");
    return WebAssembly.compile(await fs.readFile(url));
  }
  return WebAssembly.compile(await (await fetch(url)).arrayBuffer());
}
