// The workload kinds table lives in kube/kinds.ts (one table for dev mode, environments,
// `kdev ls` and the extension's tree); this path keeps the old imports working.
export { KINDS, kindSpec, parseWorkloadRef, refString, getPath, setPath, type KindSpec, type Strategy, type WorkloadRef } from '../kube/kinds.js';
