import { Template } from "@huggingface/jinja";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * The chat template BitNet b1.58 2B4T was trained with: the `chat_template` of
 * microsoft/bitnet-b1.58-2B-4T's tokenizer_config.json. Each turn is
 * "Role: content<|eot_id|>" (role capitalised, content trimmed) and the generation
 * prompt is "Assistant: ". It does not emit BOS: the tokenizer adds it
 * (`tokenizer.ggml.add_bos_token` is true in the published GGUF), as the BitNet
 * authors' own chat code does (gpu/tokenizer.py: BOS, then the turns).
 */
export const BITNET_2B4T_CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}" +
  "{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + '<|eot_id|>' %}" +
  "{{ content }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";

/**
 * The template the published 2B4T GGUF actually carries: a placeholder that
 * BitNet's convert-ms-to-gguf-bitnet.py writes for every `bitnet` file
 * ("Human: …\n\nBITNETAssistant: " followed by eos_token, no system turn). The model
 * was not trained on it; with it the reply never ends. Kept here only to recognise it.
 */
export const BITNET_PLACEHOLDER_CHAT_TEMPLATE =
  "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

/**
 * Which template to render for a file: its own `tokenizer.chat_template`, unless it
 * has none or carries BitNet's placeholder, in which case the 2B4T template.
 */
export function chooseChatTemplate(fileTemplate: string | undefined | null): string {
  if (typeof fileTemplate !== "string" || fileTemplate.trim() === "") {
    return BITNET_2B4T_CHAT_TEMPLATE;
  }
  if (fileTemplate.includes("BITNETAssistant")) return BITNET_2B4T_CHAT_TEMPLATE;
  return fileTemplate;
}

export interface RenderChatOptions {
  /** A Jinja chat template; omitted or empty means the 2B4T template. */
  template?: string;
  /** Text of the BOS token, passed to the template as `bos_token`. */
  bosToken: string;
  /** Text of the EOS token, passed to the template as `eos_token`. */
  eosToken: string;
  /** End with the opening of an assistant turn, for the model to complete. */
  addGenerationPrompt: boolean;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new Error(`The chat template could not be parsed: ${(error as Error).message}`);
    }
    compiled.set(source, template);
  }
  return template;
}

/**
 * Renders `messages` with a Jinja chat template into the prompt text. Special
 * tokens appear in it as text (e.g. "<|eot_id|>"), so encode it with
 * `parseSpecial: true`. Use `startsWithBos` to decide whether the encoder should
 * still add BOS (the 2B4T template leaves it out, some templates write it).
 */
export function renderChat(messages: ChatMessage[], opts: RenderChatOptions): string {
  if (!Array.isArray(messages)) throw new Error("renderChat needs an array of messages.");
  for (const [i, m] of messages.entries()) {
    if (!m || typeof m.content !== "string" || !["system", "user", "assistant"].includes(m.role)) {
      throw new Error(
        `Message ${i} must have role "system", "user" or "assistant" and text content.`,
      );
    }
  }
  const source = opts.template?.trim() ? opts.template : BITNET_2B4T_CHAT_TEMPLATE;
  try {
    return compile(source).render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      bos_token: opts.bosToken,
      eos_token: opts.eosToken,
      add_generation_prompt: opts.addGenerationPrompt,
    });
  } catch (error) {
    throw new Error(`The chat template failed to render: ${(error as Error).message}`);
  }
}

/** Whether rendered prompt text already begins with the BOS token. */
export function startsWithBos(rendered: string, bosToken: string): boolean {
  return bosToken !== "" && rendered.startsWith(bosToken);
}
