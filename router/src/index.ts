// The in-pod header router of shared workloads (docs/routing.md).
export { Router, type RouterOptions } from './router.js';
export { parseTable, parseUpstream, TableError, type Table, type PortTable, type Route, type Upstream } from './table.js';
export { Chooser } from './choose.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
