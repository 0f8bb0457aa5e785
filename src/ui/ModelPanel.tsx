import { type DragEvent, useEffect, useState } from "react";
import type { DownloadProgress, StoredModel } from "../worker/api.ts";
import { ErrorAlert } from "./ErrorAlert.tsx";
import { useChatStore } from "./state/chatStore.ts";
import { useEngineStore } from "./state/engineStore.ts";
import { formatBytes, formatEta, formatProgress, formatRate } from "./state/format.ts";
import { CATALOG, type CatalogEntry, entryUrl, storedFromUrl } from "./state/modelCatalog.ts";
import { useModelManagerStore } from "./state/modelManagerStore.ts";

function yesNo(value: boolean | undefined): string {
  return value ? "yes" : "no";
}

function appBase(): string {
  return typeof document === "undefined" ? "http://localhost/" : document.baseURI;
}

/** The model manager: the catalog, stored models, downloads, storage, and this device. */
export function ModelPanel() {
  const { models, loaded, loading, error } = useModelManagerStore();
  const { dismissError, addFile, checkBuiltIn } = useModelManagerStore.getState();
  const [dragging, setDragging] = useState(false);
  const base = appBase();

  useEffect(() => {
    const builtIn = CATALOG.find((e) => e.builtIn);
    if (builtIn) void checkBuiltIn(entryUrl(builtIn, base));
  }, [checkBuiltIn, base]);

  const catalogUrls = new Set(CATALOG.map((e) => entryUrl(e, base)));
  const others = models.filter((m) => !catalogUrls.has(m.urls[0] ?? ""));
  const loadedModel = models.find((m) => m.id === loaded?.modelId);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (file) void addFile(file);
  };

  return (
    <section
      className={dragging ? "model-panel dragging" : "model-panel"}
      aria-labelledby="model-heading"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <h2 id="model-heading">Model</h2>
      <p className="current-model" data-testid="current-model">
        {loading
          ? `Loading… ${Math.round(loading.fraction * 100)}%`
          : loaded
            ? `Loaded: ${loadedModel?.name ?? loaded.modelId}`
            : "No model loaded yet."}
      </p>
      {loaded && (
        <label className="small">
          <input
            type="checkbox"
            checked={loaded.head === "int8"}
            onChange={(e) => void useModelManagerStore.getState().setInt8Head(e.target.checked)}
          />{" "}
          Fast output head (int8 copy: quicker replies, slightly different words)
        </label>
      )}
      {loading && (
        <progress className="bar" aria-label="Loading the model" value={loading.fraction} max={1} />
      )}
      <EngineFailure />
      {error && <ErrorAlert message={error} onDismiss={dismissError} />}

      <ul className="model-list" aria-label="Models">
        {CATALOG.map((entry) => (
          <CatalogItem
            key={entry.id}
            entry={entry}
            stored={storedFromUrl(models, entryUrl(entry, base))}
          />
        ))}
        {others.map((m) => (
          <li key={m.id} className="model-card">
            <ModelHeader
              name={m.name}
              detail={m.urls[0] ?? "local file"}
              size={m.totalBytes}
              approximate={false}
            />
            <StoredControls model={m} />
          </li>
        ))}
      </ul>

      <AddByUrl />
      <div className={dragging ? "drop-zone active" : "drop-zone"}>
        <label className="file-button">
          <input
            type="file"
            accept=".gguf"
            className="visually-hidden"
            aria-label="Add a GGUF file from this device"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void addFile(file);
              e.target.value = "";
            }}
          />
          <span aria-hidden="true">Add a file…</span>
        </label>
        <span className="muted small">or drop a .gguf file here</span>
      </div>

      <StorageLine />

      <DeviceFacts />
    </section>
  );
}

function ModelHeader({
  name,
  detail,
  size,
  approximate,
}: {
  name: string;
  detail: string;
  size: number | null;
  approximate: boolean;
}) {
  return (
    <div className="model-head">
      <strong>{name}</strong>
      <span className="muted small">
        {size ? `${approximate ? "≈ " : ""}${formatBytes(size)}` : "size unknown"}
      </span>
      <span className="muted small source" title={detail}>
        {detail}
      </span>
    </div>
  );
}

function CatalogItem({ entry, stored }: { entry: CatalogEntry; stored: StoredModel | undefined }) {
  const builtInAvailable = useModelManagerStore((s) => s.builtInAvailable);
  const builtInBytes = useModelManagerStore((s) => s.builtInBytes);
  const { downloadUrl } = useModelManagerStore.getState();
  const url = entryUrl(entry, appBase());
  const size = stored?.totalBytes ?? entry.sizeBytes ?? (entry.builtIn ? builtInBytes : null);
  const missing = entry.builtIn && builtInAvailable === false;

  return (
    <li className="model-card">
      <ModelHeader
        name={entry.name}
        detail={entry.builtIn ? "served with this app" : new URL(url).host}
        size={size}
        approximate={!stored?.totalBytes && entry.sizeApproximate}
      />
      <p className="muted small">{entry.description}</p>
      {stored ? (
        <StoredControls model={stored} />
      ) : missing ? (
        <p className="muted small">
          This server does not serve it (<code>public/{entry.url}</code> is missing).
        </p>
      ) : (
        <div className="model-actions">
          <button type="button" className="primary" onClick={() => void downloadUrl(url)}>
            {entry.builtIn ? `Use ${entry.name}` : `Download ${entry.name}`}
          </button>
        </div>
      )}
    </li>
  );
}

function StoredControls({ model }: { model: StoredModel }) {
  const progress: DownloadProgress | undefined = useModelManagerStore((s) => s.progress[model.id]);
  const loaded = useModelManagerStore((s) => s.loaded?.modelId === model.id);
  const loading = useModelManagerStore((s) => s.loading !== null);
  const { pause, resume, cancel, remove, load } = useModelManagerStore.getState();
  const state = progress?.state ?? model.state;
  const bytes = progress?.bytes ?? model.storedBytes;
  const total = progress?.total ?? model.totalBytes;

  return (
    <div className="stored">
      {(state === "downloading" || state === "paused" || state === "verifying") && (
        <>
          <progress
            className="bar"
            aria-label={`Download of ${model.name}`}
            value={total ? bytes : undefined}
            max={total ?? undefined}
          />
          <p className="muted small" data-testid="download-progress">
            {formatProgress(bytes, total)}
            {state === "downloading" && progress
              ? ` · ${formatRate(progress.rate)} · ${formatEta(progress.etaSeconds)} left`
              : state === "paused"
                ? " · paused"
                : state === "verifying"
                  ? " · checking"
                  : ""}
          </p>
        </>
      )}
      {progress?.note && state !== "failed" && <p className="note small">{progress.note}</p>}
      {state === "failed" && (
        <p className="error small" data-testid="model-failed">
          Failed: {model.error ?? progress?.note ?? "the download did not finish."}
          {model.urls.length === 0 ? " Pick the file again to add it anew." : ""}
        </p>
      )}
      <div className="model-actions">
        {state === "ready" &&
          (loaded ? (
            <span className="badge">In use</span>
          ) : (
            <button
              type="button"
              className="primary"
              disabled={loading}
              onClick={() => void load(model.id)}
            >
              Load
            </button>
          ))}
        {state === "downloading" && (
          <button type="button" onClick={() => void pause(model.id)}>
            Pause
          </button>
        )}
        {state === "paused" && (
          <button type="button" onClick={() => void resume(model.id)}>
            Resume
          </button>
        )}
        {state === "failed" && model.urls.length > 0 && (
          <button
            type="button"
            aria-label={`Retry ${model.name} from its URL`}
            onClick={() => void resume(model.id)}
          >
            Retry
          </button>
        )}
        {(state === "downloading" || state === "paused") && (
          <button type="button" onClick={() => void cancel(model.id)}>
            Cancel
          </button>
        )}
        {(state === "ready" || state === "failed") && (
          <button
            type="button"
            aria-label={`Delete ${model.name}`}
            onClick={() => {
              if (
                window.confirm(
                  `Delete ${model.name} (${formatBytes(model.storedBytes)}) from this browser?`,
                )
              )
                void remove(model.id);
            }}
          >
            Delete
          </button>
        )}
      </div>
    </div>
  );
}

/** What Trit keeps (models and chats) beside the browser's figures for this site. */
function StorageLine() {
  const storage = useModelManagerStore((s) => s.storage);
  const conversations = useChatStore((s) => s.conversations);
  if (!storage) {
    return (
      <p className="muted small" data-testid="storage">
        Storage: unknown until the engine answers.
      </p>
    );
  }
  // Chats are stored as structured clones of these objects: their JSON is a close measure.
  const chatBytes = new Blob([JSON.stringify(conversations)]).size;
  const browser =
    storage.usedBytes !== null && storage.quotaBytes !== null
      ? `Browser: ${formatBytes(storage.usedBytes)} used by this site, ${formatBytes(
          Math.max(0, storage.quotaBytes - storage.usedBytes),
        )} free of its quota`
      : "The browser does not report this site's quota";
  const persisted =
    storage.persisted === null
      ? ""
      : storage.persisted
        ? " (persistent)"
        : " (the browser may clear it when space runs low)";
  const imageBytes = storage.imageBytes ?? 0;
  return (
    <p className="muted small" data-testid="storage">
      Trit stores {formatBytes(storage.modelBytes + imageBytes + chatBytes)} (models{" "}
      {formatBytes(storage.modelBytes)},{" "}
      {imageBytes > 0 ? `their fast-start copies ${formatBytes(imageBytes)}, ` : ""}chats{" "}
      {formatBytes(chatBytes)}). {browser}
      {persisted}.
    </p>
  );
}

function AddByUrl() {
  const [url, setUrl] = useState("");
  const { downloadUrl } = useModelManagerStore.getState();
  return (
    <form
      className="add-url"
      onSubmit={(e) => {
        e.preventDefault();
        if (url.trim()) {
          void downloadUrl(url);
          setUrl("");
        }
      }}
    >
      <label htmlFor="model-url" className="small">
        Add a model by URL (.gguf, http or https)
      </label>
      <div className="row">
        <input
          id="model-url"
          type="url"
          inputMode="url"
          placeholder="https://…/model.gguf"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
        <button type="submit" disabled={!url.trim()}>
          Add
        </button>
      </div>
    </form>
  );
}

/** What the engine can use here; the e2e suite reads these by test id. */
function DeviceFacts() {
  const { status, capabilities } = useEngineStore();
  const isolated = typeof window !== "undefined" && window.crossOriginIsolated;
  return (
    <details className="device">
      <summary>This device</summary>
      <dl className="facts">
        <dt>Cross-origin isolated</dt>
        <dd data-testid="page-isolated">{yesNo(isolated)}</dd>
        <dt>Engine worker</dt>
        <dd data-testid="engine-status">{status}</dd>
        {capabilities && (
          <>
            <dt>Threads available</dt>
            <dd data-testid="cap-threads">
              {capabilities.singleThreadReason
                ? `1 (single-threaded: ${capabilities.singleThreadReason})`
                : capabilities.hardwareThreads}
            </dd>
            <dt>SharedArrayBuffer</dt>
            <dd data-testid="cap-sab">{yesNo(capabilities.sharedArrayBuffer)}</dd>
            <dt>Wasm SIMD128</dt>
            <dd data-testid="cap-simd">{yesNo(capabilities.wasmSimd)}</dd>
            <dt>Wasm relaxed SIMD</dt>
            <dd data-testid="cap-relaxed">{yesNo(capabilities.wasmRelaxedSimd)}</dd>
          </>
        )}
      </dl>
    </details>
  );
}

/**
 * The engine worker died (out of memory, a kernel trap) or never started: say so and offer
 * a restart. A reload is the whole restart: stored models and chats live in IndexedDB, and
 * the app reloads the last model by itself.
 */
function EngineFailure() {
  const { status, error } = useEngineStore();
  if (status !== "failed") return null;
  return (
    <div role="alert" className="error alert">
      <span>{error ?? "The engine stopped."} Your chats and stored models are safe.</span>
      <button type="button" onClick={() => window.location.reload()}>
        Restart the engine
      </button>
    </div>
  );
}
