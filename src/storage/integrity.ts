import type { GgufHeader } from "../engine/gguf/types.ts";
import type { ChunkDb } from "./chunk-db.ts";
import { errorText, formatBytes, StoreError } from "./errors.ts";
import { type ModelRecord, resetShard, shardLabel } from "./records.ts";
import { Sha256, sha256Hex } from "./sha256.ts";
import type { StartValidator, ValidatorFactory } from "./start-check.ts";

/**
 * The checks that decide "ready": a model is ready only when every shard is whole (the
 * announced length, or with none the GGUF's own tensor table, matches what is stored),
 * its header parsed and passed the BitNet checks, every tensor lies inside the file,
 * every chunk still has the hash it had when stored, and the published SHA-256 matches
 * where there is one. Anything else is a problem in words.
 */

/** Where the last tensor of a parsed GGUF header ends: the least size the file can have. */
export function ggufDataEnd(header: unknown): number | null {
  const h = header as Partial<GgufHeader> | null;
  if (!h || !Array.isArray(h.tensors) || typeof h.dataOffset !== "number") return null;
  let end = h.dataOffset;
  for (const t of h.tensors) end = Math.max(end, h.dataOffset + t.offset + t.byteLength);
  return end;
}

/**
 * Feeds bytes to a shard's start validator; once it is satisfied, marks the shard checked
 * and records where its tensors end. Its errors become "invalid" in words.
 */
export function feedValidator(
  rec: ModelRecord,
  s: number,
  validator: StartValidator,
  bytes: Uint8Array,
): boolean {
  let result: unknown;
  try {
    result = validator.push(bytes);
  } catch (e) {
    throw new StoreError(
      "invalid",
      `${shardLabel(rec, s)} was refused: ${errorText(e)}.`.replace(/\.\.$/, "."),
    );
  }
  if (result === null || result === undefined) return false;
  rec.shards[s].checked = true;
  rec.shards[s].dataEnd = ggufDataEnd(result);
  return true;
}

/** A fresh validator that has seen the whole chunks stored so far (until it is satisfied). */
export async function replayValidator(
  db: ChunkDb,
  factory: ValidatorFactory,
  rec: ModelRecord,
  s: number,
): Promise<StartValidator> {
  const shard = rec.shards[s];
  const validator = factory({ index: s, count: rec.shards.length, size: shard.size });
  for (let i = 0; i < shard.chunks && !shard.checked; i++) {
    const bytes = await db.readChunk(rec.id, s, i);
    if (!bytes) break;
    feedValidator(rec, s, validator, bytes);
  }
  return validator;
}

/** Keeps the first `keep` whole chunks of a shard and forgets the rest (to fetch again). */
export async function truncateShard(
  db: ChunkDb,
  rec: ModelRecord,
  s: number,
  keep: number,
): Promise<void> {
  const shard = rec.shards[s];
  await db.deleteFrom(rec.id, s, keep);
  if (keep === 0) {
    rec.storedBytes -= shard.storedBytes;
    resetShard(shard);
    return;
  }
  const kept = keep * rec.chunkSize;
  rec.storedBytes -= shard.storedBytes - kept;
  shard.chunks = keep;
  shard.hashes = shard.hashes.slice(0, keep);
  shard.storedBytes = kept;
  shard.complete = false;
  shard.runningSha256 = null;
  shard.streamedSha256 = null;
}

/**
 * What is wrong with a stored model, in words, or null when it may be called ready.
 * Damaged shards are cut back to what is sound, so that a retry fetches only the rest.
 */
export async function findProblem(
  db: ChunkDb,
  factory: ValidatorFactory,
  rec: ModelRecord,
): Promise<string | null> {
  for (let s = 0; s < rec.shards.length; s++) {
    const shard = rec.shards[s];
    const what = shardLabel(rec, s);
    if (!shard.complete || shard.size === null || shard.storedBytes !== shard.size) {
      return `${what} is incomplete: ${formatBytes(shard.storedBytes)} of ${shard.size === null ? "an unknown size" : formatBytes(shard.size)} stored.`;
    }
    if (shard.publishedSize != null && shard.publishedSize !== shard.size) {
      const problem = `${what} is ${formatBytes(shard.size)} (${shard.size} bytes), but its publisher lists ${shard.publishedSize} bytes: it is not the published file.`;
      await truncateShard(db, rec, s, 0);
      return problem;
    }
    const expected = Math.ceil(shard.size / rec.chunkSize);
    if (shard.chunks !== expected || shard.hashes.length !== expected) {
      await truncateShard(db, rec, s, 0);
      return `${what} was stored with ${shard.chunks} chunks instead of ${expected}; retry to download it again.`;
    }
    // Records from before the tensor-table check: read the header again from storage.
    if (!shard.checked || shard.dataEnd === undefined) {
      shard.checked = false;
      await replayValidator(db, factory, rec, s);
      if (!shard.checked) {
        await truncateShard(db, rec, s, 0);
        return `${what} is not a usable model file: it ends before its header does.`;
      }
    }
    if (shard.dataEnd != null && shard.dataEnd > shard.size) {
      const problem = `${what} ends at byte ${shard.size}, but its tensor table needs bytes up to ${shard.dataEnd}: the file is cut short.`;
      await truncateShard(db, rec, s, 0);
      return problem;
    }
    // The published checksum: from the hash run during the download, else a second pass.
    const whole = shard.sha256 && !shard.streamedSha256 ? new Sha256() : null;
    for (let i = 0; i < shard.chunks; i++) {
      const bytes = await db.readChunk(rec.id, s, i);
      const length = i < expected - 1 ? rec.chunkSize : shard.size - i * rec.chunkSize;
      if (!bytes || bytes.length !== length || (await sha256Hex(bytes)) !== shard.hashes[i]) {
        await truncateShard(db, rec, s, i);
        return `${what}: chunk ${i + 1} of ${expected} is ${bytes ? "damaged" : "missing"} in storage; retry to download the rest again.`;
      }
      whole?.update(bytes);
    }
    const streamed = whole ? whole.digestHex() : shard.streamedSha256;
    if (shard.sha256 && streamed !== shard.sha256) {
      await truncateShard(db, rec, s, 0);
      return `${what} does not match its published SHA-256 checksum (the file changed or arrived damaged); retry to download it again.`;
    }
  }
  return null;
}
