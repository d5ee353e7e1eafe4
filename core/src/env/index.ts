export * from './schema.js';
export * from './template.js';
