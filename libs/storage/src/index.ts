export {};
export * from './backend';
export * from './codec';
export * from './wal';
export * from './snap';
export { crc32c } from './crc32c';
