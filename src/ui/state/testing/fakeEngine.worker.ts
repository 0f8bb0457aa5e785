/**
 * A FAKE engine worker for the UI's browser tests only: e2e/ui-chat.spec.ts bundles this
 * file and serves it in place of the real engine worker. The app never imports it.
 * Replies depend on the prompt so a test can steer them: "slow" streams forty pieces
 * slowly (to stop), "table" answers in GitHub-flavoured markdown (a table, strikethrough,
 * a task list, a python block), anything else echoes the turn count and a code block.
 */
import * as Comlink from "comlink";
import type { ChatMessage, ChatTurnStats, SamplingSettings } from "../../../worker/api.ts";
import { FakeEngine } from "./fakeEngine.ts";

class BrowserFakeEngine extends FakeEngine {
  override async generate(
    conversationId: string,
    messages: ChatMessage[],
    settings: SamplingSettings,
    onPiece: (text: string) => void,
  ): Promise<ChatTurnStats> {
    const last = messages.at(-1)?.content ?? "";
    const turns = messages.filter((m) => m.role === "user").length;
    if (last.includes("slow")) {
      this.reply = Array.from({ length: 40 }, (_, i) => `w${i} `);
      this.pieceDelay = 100;
    } else if (last.includes("table")) {
      this.reply = [
        "| Model | Bits |\n",
        "|:--|--:|\n",
        "| BitNet | 1.58 |\n",
        "| <b>fp16</b> | 16 |\n\n",
        "~~slow~~ fast\n\n",
        "- [x] load\n- [ ] chat\n\n",
        "```python\nprint('ternary')\n```\n",
      ];
      this.pieceDelay = 5;
    } else {
      this.reply = [
        `Turn ${turns}: `,
        "you said ",
        `**${last}**`,
        ` (t=${settings.temperature}).`,
        "\n\n```js\nconst answer = 42;\n```\n",
        '<img src=x onerror="self.__pwned=1">',
      ];
      this.pieceDelay = 15;
    }
    return super.generate(conversationId, messages, settings, onPiece);
  }
}

Comlink.expose(new BrowserFakeEngine());
