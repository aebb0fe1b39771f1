export {};
export * from './backend';
