/** Calls `fn` and resolves to the error it threw or rejected with; fails if it did neither. */
export async function caught(fn: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}
