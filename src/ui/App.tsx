import { useEffect } from "react";
import { ChatPanel } from "./ChatPanel.tsx";
import { ModelPanel } from "./ModelPanel.tsx";
import { useEngineStore } from "./state/engineStore.ts";

export function App() {
  const start = useEngineStore((s) => s.start);
  useEffect(() => {
    void start();
  }, [start]);

  return (
    <div className="app">
      <header className="app-header">
        <h1>Trit</h1>
        <p className="tagline">BitNet b1.58 on your own CPU. Nothing leaves this page.</p>
      </header>
      <main className="app-main">
        <ModelPanel />
        <ChatPanel />
      </main>
    </div>
  );
}
