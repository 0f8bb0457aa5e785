// Builds the kernels from wasm-kernels/assembly/kernels.ts with the npm-installed
// AssemblyScript compiler into wasm-kernels/build/ (git-ignored; never committed):
//   kernels-{simd128,relaxed}.wasm          imported plain memory (single thread)
//   kernels-{simd128,relaxed}-shared.wasm   imported shared memory (thread pool)
//   candidates-{simd128,relaxed}.wasm       losing layout candidates, for the benchmarks
//   bench-probes[-shared].wasm              the benchmark's bandwidth probe (never shipped)
// Run: node wasm-kernels/build.mjs   (npm run build:kernels; also postinstall)
import { mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const here = dirname(fileURLToPath(import.meta.url));
const sources = {
  kernels: join(here, "assembly", "kernels.ts"),
  candidates: join(here, "assembly", "candidates.ts"),
  benchProbes: join(here, "assembly", "bench-probes.ts"),
};
const outDir = join(here, "build");

// 65536 pages = 4 GiB, the wasm32 ceiling: the 2B4T weights, head and KV cache fit.
const common = [
  "--runtime",
  "stub",
  "-O3",
  "--noAssert",
  "--use",
  "abort=",
  "--importMemory",
  "--initialMemory",
  "2",
  "--maximumMemory",
  "65536",
  "--enable",
  "simd",
];

const builds = [
  { name: "kernels-simd128", source: sources.kernels, flags: [] },
  { name: "kernels-relaxed", source: sources.kernels, flags: ["--enable", "relaxed-simd"] },
  {
    name: "kernels-simd128-shared",
    source: sources.kernels,
    flags: ["--enable", "threads", "--sharedMemory"],
  },
  {
    name: "kernels-relaxed-shared",
    source: sources.kernels,
    flags: ["--enable", "relaxed-simd", "--enable", "threads", "--sharedMemory"],
  },
  { name: "candidates-simd128", source: sources.candidates, flags: [] },
  { name: "candidates-relaxed", source: sources.candidates, flags: ["--enable", "relaxed-simd"] },
  { name: "bench-probes", source: sources.benchProbes, flags: [] },
  {
    name: "bench-probes-shared",
    source: sources.benchProbes,
    flags: ["--enable", "threads", "--sharedMemory"],
  },
];

await mkdir(outDir, { recursive: true });
for (const build of builds) {
  const outFile = join(outDir, `${build.name}.wasm`);
  const { error, stderr } = await asc.main([
    build.source,
    "-o",
    outFile,
    ...common,
    ...build.flags,
  ]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`AssemblyScript failed to build ${build.name}: ${error.message}`);
  }
  const { size } = await stat(outFile);
  console.log(`built ${build.name}.wasm (${size} bytes)`);
}
