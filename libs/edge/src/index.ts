// @cairn/edge: everything between a socket and a handler (see README.md).
export * from './call-context';
