export {};
export * from './lease';
