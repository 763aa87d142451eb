import { InvalidRequestError } from '../errors/app.error';
import { assertJsonBounds } from './json-body.parser';

describe('assertJsonBounds', () => {
  it('accepts ordinary bodies', () => {
    expect(() => assertJsonBounds({ a: [1, 2, { b: 'c' }], d: null })).not.toThrow();
    expect(() => assertJsonBounds('x')).not.toThrow();
  });

  it('refuses nesting past the depth bound without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertJsonBounds(deep)).toThrow(InvalidRequestError);
    let ok: unknown = 1;
    for (let i = 0; i < 31; i++) ok = { k: ok };
    expect(() => assertJsonBounds(ok, 32)).not.toThrow();
    expect(() => assertJsonBounds({ k: ok }, 32)).not.toThrow();
    expect(() => assertJsonBounds({ k: { k: ok } }, 32)).toThrow(/deeper than 32/);
  });

  it('refuses too many values', () => {
    expect(() => assertJsonBounds(new Array(200).fill(0), 32, 100)).toThrow(/more than 100/);
  });
});
