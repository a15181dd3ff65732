// Waiting for a condition in tests: poll, and fail with a name after a deadline.

/** Poll `predicate` every `intervalMs` until it holds; fail after `timeoutMs` naming `what`. */
export async function until(
  predicate: () => boolean,
  what = 'condition',
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
