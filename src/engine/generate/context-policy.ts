/**
 * Which messages of a conversation the model sees when the whole of it no longer fits the
 * context: the leading system messages and the newest message always stay; whole turns
 * (a user message and the replies after it) fall out oldest first, as few as the budget
 * allows. Pure: the caller says what a choice costs in tokens.
 */

export interface ContextLimits {
  /** Prompt tokens wanted at most, leaving room for the reply. */
  budget: number;
  /** Prompt tokens allowed at most (the KV cache size): past it the turn cannot run. */
  limit: number;
}

export interface ContextPlan {
  /** Index of the first message after the system messages that the model still sees. */
  keptFrom: number;
  /** Messages left out: those between the system messages and keptFrom. */
  droppedMessages: number;
  /** What the kept messages cost, in tokens. */
  tokens: number;
}

/**
 * The room a reply gets: the reply's maximum length, but never more than half the context,
 * so a long max-tokens setting cannot push the whole history out.
 */
export function contextLimits(maxPositions: number, maxTokens: number): ContextLimits {
  const reserve = Math.min(Math.max(maxTokens, 1), Math.floor(maxPositions / 2));
  return { budget: maxPositions - reserve, limit: maxPositions };
}

/**
 * Picks the fewest oldest turns to leave out so that the prompt costs at most
 * `limits.budget`; when even the system messages and the last message alone exceed it,
 * keeps just those if they fit `limits.limit`, and otherwise refuses in words.
 * `cost(keptFrom, droppedMessages)` is the token count of the system messages plus messages[keptFrom..];
 * it must not grow as keptFrom grows (leaving out more never costs more).
 */
export function planContext(
  messages: readonly { role: string }[],
  cost: (keptFrom: number, droppedMessages: number) => number,
  limits: ContextLimits,
): ContextPlan {
  if (messages.length === 0) throw new Error("There is nothing to reply to: no messages.");
  let systemEnd = 0;
  while (systemEnd < messages.length - 1 && messages[systemEnd].role === "system") systemEnd++;
  const last = messages.length - 1;
  // Where the kept history may start: right after the system messages, at any later user
  // message (so no reply is kept without its question), or at the last message alone.
  const cuts = [systemEnd];
  for (let i = systemEnd + 1; i < last; i++) if (messages[i].role === "user") cuts.push(i);
  if (cuts.at(-1) !== last) cuts.push(last);

  const plan = (keptFrom: number, tokens: number): ContextPlan => ({
    keptFrom,
    droppedMessages: keptFrom - systemEnd,
    tokens,
  });
  const costAt = (keptFrom: number) => cost(keptFrom, keptFrom - systemEnd);
  const whole = costAt(cuts[0]);
  if (whole <= limits.budget) return plan(cuts[0], whole);
  const smallest = costAt(last);
  if (smallest > limits.budget) {
    if (smallest <= limits.limit) return plan(last, smallest);
    throw new Error(
      `The message is too long for this model: with the system prompt it takes ${smallest} tokens, and the context holds ${limits.limit}. Shorten it or the system prompt.`,
    );
  }
  // Binary search for the first cut that fits: cuts[lo] does not fit, cuts[hi] does.
  let lo = 0;
  let hi = cuts.length - 1;
  let fits = smallest;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const tokens = costAt(cuts[mid]);
    if (tokens <= limits.budget) {
      hi = mid;
      fits = tokens;
    } else {
      lo = mid;
    }
  }
  return plan(cuts[hi], fits);
}
