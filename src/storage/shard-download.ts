import type { ChunkDb } from "./chunk-db.ts";
import { errorText, formatBytes, StoreError } from "./errors.ts";
import { feedValidator, replayValidator, truncateShard } from "./integrity.ts";
import { hubFileChecksum } from "./published-checksum.ts";
import { Dropped, type RangeFetcher, readOrAbort } from "./range-fetcher.ts";
import { type ModelRecord, shardLabel, totalOf } from "./records.ts";
import { Sha256, sha256Hex } from "./sha256.ts";
import type { StartValidator, ValidatorFactory } from "./start-check.ts";

/**
 * Downloads one shard of a model into the chunk database, byte-exactly resumable: bytes
 * are stored as pieces of at most `pieceSize` while they arrive, and whatever arrived is
 * stored before a drop or a pause is reported, so a resume asks for the very next byte.
 * A chunk (the unit of the stored hashes) is complete once all its bytes are stored.
 */
export interface ShardJob {
  db: ChunkDb;
  fetcher: RangeFetcher;
  fetch: typeof globalThis.fetch;
  validator: ValidatorFactory;
  rec: ModelRecord;
  /** The picked files of a local import; null for a download. */
  files: File[] | null;
  signal: AbortSignal;
  /** Bytes that may arrive before they are stored (the most a crashed tab loses). */
  pieceSize: number;
  /** Failed attempts in a row, without progress, before giving up. */
  retries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  /** Waits before a retry; resolves early when the browser comes back online. */
  pauseBeforeRetry(ms: number): Promise<void>;
  save(): Promise<void>;
  /** Reports progress; `force` skips the rate limit. */
  emit(force: boolean, note?: string): void;
  /** The shard offset of the next byte to arrive (counted as progress), or null. */
  setReceiving(at: { shard: number; offset: number } | null): void;
}

/** The bytes of the chunk being filled, restored from its stored pieces. */
interface Tail {
  buf: Uint8Array;
  fill: number;
}

/** What the last attempt left in memory, and the stored byte count it is valid for. */
interface Carry {
  tail: Tail | null;
  at: number;
}

const MAX_RESTARTS = 3;
/** Answers in a row that send nothing more before a length counts as wrong. */
const MAX_STALLS = 3;
/** Bytes read but not yet stored before reading waits for IndexedDB (bounds memory). */
const MAX_PENDING = 64 * 1024 * 1024;

export async function downloadShard(job: ShardJob, s: number): Promise<void> {
  const { rec, signal } = job;
  const shard = rec.shards[s];
  let failures = 0;
  let stalls = 0;
  const restarts = { changed: 0, noRange: 0 };
  // The chunk being filled stays in memory from one attempt to the next.
  const carry: Carry = { tail: null, at: -1 };
  while (!shard.complete) {
    if (!job.files && shard.storedBytes === 0 && !shard.checked) await askPublisher(job, s);
    const before = shard.storedBytes;
    const received = { bytes: 0 };
    try {
      // After an answer that sent nothing, ask for one piece only: a link that drops
      // often still delivers that much, while a server whose length is wrong does not.
      await attempt(job, s, received, restarts, carry, stalls > 0);
      failures = 0;
    } catch (e) {
      if (!(e instanceof Dropped) || signal.aborted) throw e;
      // It moved: try again at once (a link that drops every few MB still finishes).
      const moved = shard.storedBytes > before || received.bytes > 0;
      if (moved) {
        failures = 0;
        stalls = 0;
      }
      // Answered, yet nothing sent from this byte on, again and again: the server's
      // length is wrong, and waiting longer will not change that.
      if (e.responded && !moved && ++stalls >= MAX_STALLS) {
        throw new StoreError(
          "size",
          `${shardLabel(rec, s)}: the server stops sending at byte ${shard.storedBytes}${shard.size === null ? "" : ` of the ${shard.size} it announced`}, ${stalls} times in a row. Its length is wrong, so the file cannot be trusted; retry later or use another source.`,
        );
      }
      if (++failures > job.retries) throw e;
      const wait = moved
        ? 0
        : Math.min(job.maxRetryDelayMs, job.retryDelayMs * 2 ** (failures - 1));
      job.emit(true, `${e.message} Retrying ${wait ? `in ${Math.round(wait / 1000)} s` : "now"}.`);
      await job.pauseBeforeRetry(wait);
    }
  }
}

/** The publisher's checksum and size (Hugging Face's model API), asked for from byte 0. */
async function askPublisher(job: ShardJob, s: number): Promise<void> {
  const shard = job.rec.shards[s];
  // Asked again at each fresh start: a file that changed on the Hub has a new checksum.
  if (shard.sha256Given) return;
  const published = await hubFileChecksum(shard.source, job.fetch, job.signal);
  if (!published) return;
  shard.sha256 = published.sha256;
  shard.publishedSize = published.size;
  await job.save();
}

async function attempt(
  job: ShardJob,
  s: number,
  received: { bytes: number },
  restarts: { changed: number; noRange: number },
  carry: Carry,
  probe: boolean,
): Promise<void> {
  const { rec, signal } = job;
  const shard = rec.shards[s];
  const tail =
    carry.tail && carry.at === shard.storedBytes ? carry.tail : await restoreTail(job, s);
  carry.tail = null;
  const start = shard.storedBytes;
  if (job.files) {
    const file = job.files[s];
    if (!file || file.size !== shard.size) {
      throw new StoreError("needs-file", `Pick "${shard.source}" again to continue importing it.`);
    }
    return consume(
      job,
      s,
      file.slice(start).stream() as ReadableStream<Uint8Array>,
      tail,
      received,
      carry,
    );
  }
  const limit =
    probe && !job.files
      ? Math.min(start + job.pieceSize, shard.size ?? Number.POSITIVE_INFINITY)
      : null;
  const answer = await job.fetcher.fromByte(
    shard.source,
    start,
    signal,
    limit === null ? undefined : limit - 1,
  );
  const facts = answer.facts;
  const sameFile =
    (shard.etag === null || facts.etag === null || shard.etag === facts.etag) &&
    (shard.etag !== null ||
      shard.lastModified === null ||
      facts.lastModified === null ||
      shard.lastModified === facts.lastModified);
  const restart = async (note: string) => {
    if (++restarts.changed > MAX_RESTARTS) {
      throw new StoreError(
        "changed",
        `${shardLabel(rec, s)} keeps changing on the server; try again later.`,
      );
    }
    await restartShard(job, s, note);
  };

  if (answer.kind === "nothing-left") {
    // Every byte is stored (a tab stopped before it said so): finish the shard.
    if (answer.total === start && (shard.size === null || shard.size === start) && sameFile) {
      shard.size = start;
      rec.totalBytes = totalOf(rec);
      return consume(job, s, new Blob([]).stream(), tail, received, carry);
    }
    if (sameFile && shard.size !== null && answer.total !== null) {
      throw new StoreError(
        "size",
        `${shardLabel(rec, s)}: the server announced ${shard.size} bytes, but now says the file has ${answer.total}. Its lengths disagree, so the file cannot be trusted; retry later or use another source.`,
      );
    }
    return restart(
      `${shardLabel(rec, s)} changed on the server (it is now shorter): downloading it again.`,
    );
  }

  const total = facts.size;
  if (answer.fromZero && start > 0) {
    await answer.body.cancel();
    if (++restarts.noRange > MAX_RESTARTS) {
      throw new StoreError(
        "network",
        `${shardLabel(rec, s)}: the server does not support resuming and the connection keeps dropping, so the download cannot finish from this server.`,
      );
    }
    await restartShard(
      job,
      s,
      "The server does not support resuming (it ignored the Range request): this file starts again from the beginning.",
    );
    return;
  }
  if (answer.fromZero && !answer.acceptsRanges) {
    rec.note =
      "The server does not support resuming: an interrupted download of this file will start again from the beginning.";
    job.emit(true, rec.note);
  }
  if (start > 0 && (!sameFile || (shard.size !== null && total !== null && shard.size !== total))) {
    await answer.body.cancel();
    return restart(
      `${shardLabel(rec, s)} changed on the server since the download began: downloading it again.`,
    );
  }
  if (shard.publishedSize != null && total !== null && total !== shard.publishedSize) {
    await answer.body.cancel();
    throw new StoreError(
      "changed",
      `${shardLabel(rec, s)}: the server sends ${total} bytes, but its publisher lists ${shard.publishedSize}. It is not the published file; retry later.`,
    );
  }
  shard.etag = facts.etag;
  shard.lastModified = facts.lastModified;
  shard.sha256 ??= facts.sha256;
  if (total !== null && shard.size !== total) {
    shard.size = total;
    rec.totalBytes = totalOf(rec);
  }
  await job.save();
  return consume(job, s, answer.body, tail, received, carry, answer.fromZero ? null : limit);
}

/**
 * Drops stored values past what the record counts (a tab that stopped between a write
 * and its record) and reads the pieces of the chunk being filled back into memory.
 */
async function restoreTail(job: ShardJob, s: number): Promise<Tail> {
  const { rec, db } = job;
  const shard = rec.shards[s];
  const chunk = shard.chunks;
  const fill = Math.max(0, shard.storedBytes - chunk * rec.chunkSize);
  await db.deleteFrom(rec.id, s, chunk, fill);
  const buf = new Uint8Array(rec.chunkSize);
  if (fill === 0) return { buf, fill };
  const stored = await db.readChunk(rec.id, s, chunk);
  if (stored && stored.length === fill) {
    buf.set(stored);
    return { buf, fill };
  }
  // A piece went missing: go back to the last whole chunk.
  await db.deleteFrom(rec.id, s, chunk);
  shard.storedBytes -= fill;
  rec.storedBytes -= fill;
  await job.save();
  return { buf, fill: 0 };
}

/** Drops what is stored of a shard so that it downloads again from byte 0. */
async function restartShard(job: ShardJob, s: number, note: string): Promise<void> {
  const { rec } = job;
  await truncateShard(job.db, rec, s, 0);
  rec.totalBytes = totalOf(rec);
  rec.note = note;
  await job.save();
  job.emit(true, note);
}

/**
 * Reads a shard's bytes from `tail.fill` bytes into the current chunk on, stores them as
 * pieces, and completes each chunk (hash, running checksum) once its bytes are stored.
 * Writes run behind the reads, so network and IndexedDB overlap.
 */
async function consume(
  job: ShardJob,
  s: number,
  body: ReadableStream<Uint8Array>,
  tail: Tail,
  received: { bytes: number },
  carry: Carry,
  limit: number | null = null,
): Promise<void> {
  const { rec, db, signal } = job;
  const shard = rec.shards[s];
  const chunkSize = rec.chunkSize;
  let { buf, fill } = tail;
  let flushed = fill;
  let chunk = shard.chunks;
  let spare: Uint8Array | null = null;
  let offset = shard.storedBytes;
  let validator: StartValidator | null = null;
  if (!shard.checked) {
    validator = await replayValidator(db, job.validator, rec, s);
    if (!shard.checked && fill > 0) feedValidator(rec, s, validator, buf.subarray(0, fill));
  }

  // Writes run in order behind the reads. Reading does not wait for them (a browser
  // discards the bytes it queued for a page when the connection then fails) unless more
  // than MAX_PENDING bytes wait to be stored.
  let writing: Promise<void> = Promise.resolve();
  let pending = 0;
  const enqueue = (task: () => Promise<void>) => {
    writing = writing.then(task);
    writing.catch(() => undefined); // awaited later; this only marks it handled
  };
  const storePiece = () => {
    if (fill === flushed) return;
    const at = flushed;
    const bytes = buf.slice(flushed, fill);
    const c = chunk;
    flushed = fill;
    pending += bytes.length;
    enqueue(async () => {
      await db.putPiece(rec.id, s, c, at, bytes);
      pending -= bytes.length;
      shard.storedBytes += bytes.length;
      rec.storedBytes += bytes.length;
      await job.save();
      job.emit(false);
    });
  };
  const completeChunk = () => {
    const full = buf;
    const length = fill;
    buf = spare ?? new Uint8Array(chunkSize);
    spare = null;
    pending += chunkSize; // the buffer is held until its hash is done
    fill = 0;
    flushed = 0;
    chunk += 1;
    enqueue(async () => {
      const bytes = full.subarray(0, length);
      const hash = await sha256Hex(bytes);
      updateRunningSha(rec, s, bytes);
      shard.chunks += 1;
      shard.hashes.push(hash);
      await job.save();
      pending -= chunkSize;
      spare = full;
    });
  };

  let stop: unknown = null;
  let dropped: unknown = null;
  const reader = body.getReader();
  job.setReceiving({ shard: s, offset });
  try {
    for (;;) {
      let piece: ReadableStreamReadResult<Uint8Array>;
      try {
        piece = await readOrAbort(reader, signal);
      } catch (e) {
        if (signal.aborted) throw e;
        dropped = e;
        break;
      }
      if (piece.done) break;
      const value = piece.value;
      received.bytes += value.length;
      if (shard.size !== null && offset + value.length > shard.size) {
        throw new StoreError(
          "size",
          `The server sent more bytes than the ${formatBytes(shard.size)} it announced for ${shardLabel(rec, s)}.`,
        );
      }
      if (validator && !shard.checked && feedValidator(rec, s, validator, value)) {
        await job.save();
      }
      for (let p = 0; p < value.length; ) {
        const n = Math.min(value.length - p, chunkSize - fill);
        buf.set(value.subarray(p, p + n), fill);
        fill += n;
        p += n;
        offset += n;
        if (fill === chunkSize || fill - flushed >= job.pieceSize) {
          if (pending > MAX_PENDING) await writing;
          storePiece();
          if (fill === chunkSize) completeChunk();
        }
      }
      job.setReceiving({ shard: s, offset });
      job.emit(false);
    }
  } catch (e) {
    stop = e;
  } finally {
    // Frees the connection when we stop early; a no-op once the body has ended.
    reader.cancel().catch(() => undefined);
  }
  // Keep what arrived: on a drop, a pause, or the end of the body.
  const keep = stop === null || (signal.aborted && signal.reason === "pause");
  if (keep) storePiece();
  try {
    await writing;
  } finally {
    job.setReceiving(null);
  }
  if (stop !== null) throw stop;
  // Everything read is stored: the next attempt can go on from this buffer.
  carry.tail = fill === flushed ? { buf, fill } : null;
  carry.at = shard.storedBytes;

  // A bounded request that delivered all it asked for: the caller asks for the rest.
  if (limit !== null && offset === limit && dropped === null && offset !== shard.size) return;
  const kept = `${formatBytes(rec.storedBytes)} stored are kept`;
  if (dropped !== null) {
    throw new Dropped(
      `The connection dropped (${errorText(dropped)}); ${kept}.`,
      received.bytes,
      true,
    );
  }
  if (shard.size !== null && offset < shard.size) {
    throw new Dropped(
      `The connection closed early, at ${formatBytes(offset)} of ${formatBytes(shard.size)}; ${kept}.`,
      received.bytes,
      true,
    );
  }
  if (!shard.checked) {
    throw new StoreError(
      "invalid",
      `${shardLabel(rec, s)} is not a usable model file: it ended after ${offset} bytes, before its header did.`,
    );
  }
  if (shard.size === null && shard.dataEnd != null && offset < shard.dataEnd) {
    // No length announced: the GGUF's tensor table says where the file ends.
    throw new Dropped(
      `The connection closed at ${formatBytes(offset)}, before the end of the file's tensors (${formatBytes(shard.dataEnd)}); ${kept}.`,
      received.bytes,
      true,
    );
  }
  if (fill > 0) completeChunk();
  await writing;
  shard.size = offset;
  shard.complete = true;
  if (shard.runningSha256?.length === offset) {
    shard.streamedSha256 = Sha256.resume(shard.runningSha256).digestHex();
    shard.runningSha256 = null;
  }
  rec.totalBytes = totalOf(rec);
  await job.save();
}

/**
 * With a published checksum, hashes whole chunks in order as they complete and saves the
 * state between them, so a resumed download needs no second pass over what is stored.
 */
function updateRunningSha(rec: ModelRecord, s: number, bytes: Uint8Array): void {
  const shard = rec.shards[s];
  const resumable =
    rec.chunkSize % 64 === 0 && (shard.chunks === 0 || shard.runningSha256 !== null);
  if (shard.sha256 === null || !resumable) return;
  const running = shard.runningSha256 ? Sha256.resume(shard.runningSha256) : new Sha256();
  running.update(bytes);
  // Only the shard's last chunk can end off a 64-byte block: then the hash is done.
  if (bytes.length % 64 === 0) shard.runningSha256 = running.save();
  else {
    shard.runningSha256 = null;
    shard.streamedSha256 = running.digestHex();
  }
}
