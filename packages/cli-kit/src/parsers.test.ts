import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { integer, nameList, nonNegativeInt, oneOf, optionParser, port, positiveInt, positiveIntPerField, positiveNumber, seed, widthList } from './parsers.js';

describe('flag parsers', () => {
  it('accept what they promise', () => {
    expect(positiveInt('12')).toBe(12);
    expect(nonNegativeInt('0')).toBe(0);
    expect(integer('-3')).toBe(-3);
    expect(positiveNumber('0.001')).toBe(0.001);
    expect(widthList('256, 128,64')).toEqual([256, 128, 64]);
    expect(nameList('user_id, item_id,')).toEqual(['user_id', 'item_id']);
    expect(oneOf(['error', 'skip'])('skip')).toBe('skip');
    expect(seed('0')).toBe(0);
    expect(seed('4294967295')).toBe(4294967295);
    expect(port('1')).toBe(1);
    expect(port('65535')).toBe(65535);
    expect(positiveIntPerField('5000')).toBe(5000);
    expect(positiveIntPerField('item_id=100, user_id = 7')).toEqual({ item_id: 100, user_id: 7 });
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
      [positiveIntPerField, '0', /positive whole number, or FIELD=N pairs/],
      [positiveIntPerField, 'item_id=0', /FIELD=N pairs/],
      [positiveIntPerField, 'item_id=5,', /FIELD=N pairs/],
      [positiveIntPerField, '=5', /FIELD=N pairs/],
      [positiveIntPerField, 'item_id=5,user_id', /FIELD=N pairs/],
      [positiveIntPerField, 'a=1,a=2', /field 'a' is given twice/],
      [oneOf(['error', 'skip']), 'ignore', /'error' or 'skip'/],
      // Seeds keep 32 bits: 2^32 + 1 would be seed 1's run again, −1 seed 2^32 − 1's.
      [seed, '4294967296', /seed \(whole number\) in 0…4294967295/],
      [seed, '4294967297', /0…4294967295/],
      [seed, '-1', /0…4294967295/],
      [seed, '1.5', /0…4294967295/],
      [seed, '1e300', /0…4294967295/],
      [port, '99999', /a port in 1…65535/],
      [port, '0', /a port in 1…65535/],
      [port, '80.5', /a port/],
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

describe('optionParser', () => {
  it("turns a library parser's Error into commander's usage error with its message, and keeps a usage error as it is", () => {
    const even = optionParser((v: string) => {
      if (Number(v) % 2 !== 0) throw new Error(`${v} is odd`);
      return Number(v);
    });
    expect(even('4')).toBe(4);
    expect(() => even('3')).toThrow(InvalidArgumentError);
    expect(() => even('3')).toThrow('3 is odd');
    const wrapped = optionParser(positiveInt);
    expect(() => wrapped('0')).toThrow(InvalidArgumentError);
    expect(() => wrapped('0')).toThrow('expected a positive whole number');
  });
});
