// Servers a bench started must not outlive it: `killAll` runs when the process exits and on Ctrl-C/SIGTERM
// (which then exit with the shell's 130/143). Returns the function that removes these hooks again.
export function killOnExit(killAll: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', killAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
