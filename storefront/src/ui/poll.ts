/**
 * Repeat a task at an interval while it asks to go on. The next run is planned only after the last one
 * finished, so a slow server never gets a pile of overlapping requests.
 */

export interface Poller {
  stop(): void;
  /** Run the task now instead of at its next turn. */
  now(): void;
}

export function poll(task: () => Promise<boolean>, intervalMs: number): Poller {
  let stopped = false;
  let handle: ReturnType<typeof setTimeout> | null = null;
  let running = false;

  const run = async (): Promise<void> => {
    if (stopped || running) {
      return;
    }
    if (handle !== null) {
      clearTimeout(handle);
      handle = null;
    }
    running = true;
    let again = true;
    try {
      again = await task();
    } catch {
      again = true;
    }
    running = false;
    if (!stopped && again) {
      handle = setTimeout(() => void run(), intervalMs);
    }
  };

  void run();
  return {
    stop() {
      stopped = true;
      if (handle !== null) {
        clearTimeout(handle);
      }
    },
    now() {
      void run();
    },
  };
}
