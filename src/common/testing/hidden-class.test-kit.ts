import * as v8 from 'node:v8';

/**
 * Whether V8 gave two objects the same hidden class (map). Objects the hot path builds on every
 * request should share one: an object that gets a class of its own costs a class allocated in
 * the old generation each time. Compiles one function with V8's natives syntax, switched on only
 * for that.
 */
export function sameHiddenClass(a: object, b: object): boolean {
  v8.setFlagsFromString('--allow-natives-syntax');
  try {
    return new Function('a', 'b', 'return %HaveSameMap(a, b)')(a, b) as boolean;
  } finally {
    v8.setFlagsFromString('--no-allow-natives-syntax');
  }
}
