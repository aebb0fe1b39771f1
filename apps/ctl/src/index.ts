// @cairn/ctl as a library: the dispatcher, the command framework and the renderers (used by tests).
export * from './command';
export { runCli, ROOT, describeError, VERSION } from './cli';
export { parseCommandLine, parseDuration, globalOptions, GLOBAL_FLAGS, envName } from './parse';
export { render, renderTable, renderJson, renderYaml, renderSimple } from './output';
export { bashCompletion, zshCompletion } from './completion';
export { helpText } from './help';
