// Trit compute kernels (AssemblyScript → WebAssembly SIMD128, optionally relaxed SIMD).
//
// The module owns no data: every buffer lives in the imported memory and is laid out by
// the TypeScript side (src/engine/kernels/). Pointers are byte offsets (u32). Kernels
// that the thread pool splits take (rowBegin, rowEnd) as their first two arguments.
//
// Ternary weight layout: each row is padded to a multiple of 128 columns and cut into
// blocks of 32 bytes (I2_S's block): byte m (0..31) of block b holds the codes (w + 1,
// in {0, 1, 2}) of columns 128b + m + 32n at bits 7−2n..6−2n (n = 0..3). A 16-byte
// half-block k holds columns 128b + 16k + 32n + (0..15): one shift and one mask give 16
// codes that line up with 16 consecutive activations. Since codes are w + 1,
// dot(x, w) = dot(x, code) − sum(x); the caller passes sum(x).
// Rows come in groups of four (a matrix is padded with zero rows to a multiple of 4),
// and a group stores its rows' blocks interleaved: block b of row 4g + j at byte
// (4g)·stride + 128b + 32j, where stride = 32 · blocks is a row's size. The four rows
// a kernel pass reads are then one sequential stream (src/engine/kernels/pack.ts
// interleaves I2_S and TQ2_0 rows at load). The lane-pair form (ternary-lanes.ts) reads the
// same groups and blocks with the bits of each block reordered, relaid in place at load
// (ternary_lane_layout) when the engine picks that form.
//
// Layout measurements (which ternary layout won, and by how much): wasm-kernels/README.md.
//
// This file is the build entry: each op family lives in its own file, and what it
// exports becomes an export of the wasm module. Helpers shared across families are in
// lanes.ts (not re-exported).

export * from "./attention";
export * from "./elementwise";
export * from "./head";
export * from "./norms";
export * from "./ternary";
