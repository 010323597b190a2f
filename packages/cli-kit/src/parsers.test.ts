import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { integer, nameList, nonNegativeInt, oneOf, positiveInt, positiveNumber, widthList } from './parsers.js';

describe('flag parsers', () => {
  it('accept what they promise', () => {
    expect(positiveInt('12')).toBe(12);
    expect(nonNegativeInt('0')).toBe(0);
    expect(integer('-3')).toBe(-3);
    expect(positiveNumber('0.001')).toBe(0.001);
    expect(widthList('256, 128,64')).toEqual([256, 128, 64]);
    expect(nameList('user_id, item_id,')).toEqual(['user_id', 'item_id']);
    expect(oneOf(['error', 'skip'])('skip')).toBe('skip');
  });

  it('refuse everything else with commander InvalidArgumentError saying what was expected', () => {
    const cases: [(v: string) => unknown, string, RegExp][] = [
      [positiveInt, '0', /positive whole number/],
      [positiveInt, '1.5', /positive whole number/],
      [positiveInt, '', /positive whole number/],
      [positiveInt, 'abc', /positive whole number/],
      [nonNegativeInt, '-1', /≥ 0/],
      [integer, '2.5', /whole number/],
      [integer, ' ', /whole number/],
      [positiveNumber, '0', /positive number/],
      [positiveNumber, 'Infinity', /positive number/],
      [widthList, '256,,64', /layer widths/],
      [widthList, '256,0', /layer widths/],
      [nameList, ' , ', /comma-separated names/],
      [oneOf(['error', 'skip']), 'ignore', /'error' or 'skip'/],
    ];
    for (const [parse, value, message] of cases) {
      let thrown: unknown;
      try {
        parse(value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `${parse.name}(${JSON.stringify(value)})`).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});
