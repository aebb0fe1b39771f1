// The one way a panel runs an action: clear the last error, run it, keep its error for the banner. (The
// config panels each had their own copy: setError(undefined); p.then(after).catch(setError).)
import { useCallback, useState } from 'react';

export interface Action {
  /** The last action's error (undefined after a success or while a new one runs). */
  error: unknown;
  setError: (error: unknown) => void;
  /** Runs `p`; `after` gets its result on success, a failure is kept in `error`. */
  run: <T>(p: Promise<T>, after?: (value: T) => void) => void;
}

export function useAction(): Action {
  const [error, setError] = useState<unknown>();
  const run = useCallback(<T>(p: Promise<T>, after?: (value: T) => void): void => {
    setError(undefined);
    p.then((value) => after?.(value)).catch((err: unknown) => setError(err));
  }, []);
  return { error, setError, run };
}
