/**
 * Symbols shared between typhoon's own modules, so internals can cross module boundaries
 * without being reachable by name from user code.
 * @module
 */
export {};
