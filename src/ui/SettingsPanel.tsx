import { useEffect, useState } from "react";
import type { SamplingSettings } from "../worker/api.ts";
import { useChatDefaults } from "./state/chatDefaults.ts";
import { useChatStore } from "./state/chatStore.ts";
import {
  checkSetting,
  DEFAULT_SAMPLING,
  SAMPLING_KEYS,
  SAMPLING_LIMITS,
} from "./state/sampling.ts";

/**
 * The active conversation's system prompt and sampling settings; with no chat yet, the
 * defaults new chats start from.
 */
export function SettingsPanel() {
  const conversation = useChatStore((s) => s.conversations.find((c) => c.id === s.activeId));
  const defaults = useChatDefaults();
  const chat = useChatStore.getState();
  const target = conversation
    ? {
        key: conversation.id,
        systemPrompt: conversation.systemPrompt,
        settings: conversation.settings,
        setSystemPrompt: chat.setSystemPrompt,
        setSettings: chat.setSettings,
      }
    : { key: "defaults", ...defaults };

  return (
    <section className="settings-panel" aria-labelledby="settings-heading">
      <h2 id="settings-heading">{conversation ? "Chat settings" : "Settings for new chats"}</h2>
      {!conversation && (
        <p className="muted small">
          No chat yet: these are the defaults your first chat starts with.
        </p>
      )}
      <label className="field">
        <span>System prompt</span>
        <textarea
          rows={3}
          value={target.systemPrompt}
          onChange={(e) => target.setSystemPrompt(e.target.value)}
        />
      </label>
      <div className="settings-grid">
        {SAMPLING_KEYS.map((key) => (
          <SettingField
            key={`${target.key}-${key}`}
            name={key}
            value={target.settings[key]}
            onValid={(value) => target.setSettings({ [key]: value })}
          />
        ))}
      </div>
      <button type="button" onClick={() => target.setSettings(DEFAULT_SAMPLING)}>
        Reset sampling to defaults
      </button>
    </section>
  );
}

function SettingField({
  name,
  value,
  onValid,
}: {
  name: keyof SamplingSettings;
  value: number;
  onValid: (value: number) => void;
}) {
  const limit = SAMPLING_LIMITS[name];
  const [text, setText] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(String(value)), [value]);
  const id = `setting-${name}`;
  return (
    <div className="field">
      <label htmlFor={id}>{limit.label}</label>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        min={limit.min}
        max={limit.max}
        step={limit.step}
        value={text}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-help`}
        onChange={(e) => {
          setText(e.target.value);
          const checked = checkSetting(name, e.target.value);
          if ("error" in checked) setError(checked.error);
          else {
            setError(null);
            onValid(checked.value);
          }
        }}
      />
      <span id={`${id}-help`} className={error ? "error small" : "muted small"}>
        {error ?? limit.help}
      </span>
    </div>
  );
}
