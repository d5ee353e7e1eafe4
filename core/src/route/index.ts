export * from './spec.js';
export { ROUTER_OF_LABEL, ROUTER_CONFIGMAP, routerBundle } from './objects.js';
export { SERVICE_ORIGINAL_ANNOTATION, readPlan, type RouteTarget } from './takeover.js';
