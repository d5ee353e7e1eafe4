export * from './schema.js';
export * from './template.js';
export * from './types.js';
export * from './ready.js';
export * from './access.js';
export * from './environment.js';
export * from './devconfig.js';
export { PARAM_TYPES, type ParamType, isQuantity } from './values.js';
